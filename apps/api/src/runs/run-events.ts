import { isFinalRunStatus, type DeliveryCode, type DeliveryStatus, type DestinationType, type RunStatus } from '@pbx/contracts';
import type { DeliveryEntity, RunEntity } from '@pbx/persistence';
import { EventDiff } from '../live/event-stream';

/** What a run is doing, for a progress bar: packing, then delivering to every destination. */
export const RUN_PHASES = ['queued', 'deferred', 'packing', 'delivering', 'done'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export interface RunProgressEvent {
  phase: RunPhase;
  bytesDone: number;
  /** null while packing: the archive's size is known only once it is packed. */
  bytesTotal: number | null;
  /** 0–100, whole numbers; null when the total is unknown. */
  percent: number | null;
  entriesDone: number | null;
}

export interface RunDeliveryEvent {
  id: string;
  destinationId: string;
  type: DestinationType;
  target: string;
  /** `running` while an attempt uploads (GET /runs/:id shows it as pending). */
  status: DeliveryStatus;
  attempts: number;
  bytesDone: number;
  bytesTotal: number | null;
  code: DeliveryCode | null;
  error: string | null;
  nextAttemptAt: string | null;
  /** Waiting for the upload window: starts then. */
  heldUntil: string | null;
}

export interface RunStatusEvent {
  status: RunStatus;
  error: string | null;
  final: boolean;
}

export type RunEvent =
  | { event: 'status'; key: 'status'; data: RunStatusEvent }
  | { event: 'progress'; key: 'progress'; data: RunProgressEvent }
  | { event: 'delivery'; key: string; data: RunDeliveryEvent };

const PHASE: Record<RunStatus, RunPhase> = {
  queued: 'queued',
  deferred: 'deferred',
  packing: 'packing',
  dispatching: 'delivering',
  succeeded: 'done',
  partially_failed: 'done',
  failed: 'done',
  cancelled: 'done',
};

const percentOf = (done: number, total: number | null): number | null => (total ? Math.min(100, Math.floor((done * 100) / total)) : null);

/** Bytes a delivery has moved: a final one counts whole (a failed one is over, too). */
const deliveredBytes = (d: DeliveryEntity, size: number): number => (d.status === 'succeeded' || d.status === 'failed' ? size : Math.min(d.bytesSent, size));

export function progressOf(run: RunEntity, deliveries: readonly DeliveryEntity[]): RunProgressEvent {
  const phase = PHASE[run.status];
  const size = run.artifactSize;
  if ((phase === 'delivering' || phase === 'done') && size !== null && deliveries.length) {
    const bytesTotal = size * deliveries.length;
    const bytesDone = phase === 'done' ? bytesTotal : deliveries.reduce((sum, d) => sum + deliveredBytes(d, size), 0);
    return { phase, bytesDone, bytesTotal, percent: percentOf(bytesDone, bytesTotal), entriesDone: run.progress?.entriesDone ?? null };
  }
  const bytesDone = run.progress?.bytes ?? 0;
  return { phase, bytesDone, bytesTotal: null, percent: phase === 'done' ? 100 : null, entriesDone: run.progress?.entriesDone ?? null };
}

export function deliveryEventOf(d: DeliveryEntity, size: number | null): RunDeliveryEvent {
  return {
    id: d.id,
    destinationId: d.destinationId,
    type: d.type,
    target: d.target,
    status: d.status,
    attempts: d.attempts,
    bytesDone: d.status === 'succeeded' && size !== null ? size : d.bytesSent,
    bytesTotal: size,
    code: d.code,
    error: d.error,
    nextAttemptAt: d.status === 'pending' && d.nextAttemptAt ? d.nextAttemptAt.toISOString() : null,
    heldUntil: d.status === 'waiting' && d.nextAttemptAt ? d.nextAttemptAt.toISOString() : null,
  };
}

/**
 * A run's state as the events a watcher should know, in the order to send them: the status
 * first while the run goes on (a new phase, then its progress), last once it is final (the
 * deliveries' outcomes and the full bar, then the end).
 */
export function eventsOf(run: RunEntity, deliveries: readonly DeliveryEntity[]): RunEvent[] {
  const final = isFinalRunStatus(run.status);
  const status: RunEvent = { event: 'status', key: 'status', data: { status: run.status, error: run.error ?? null, final } };
  const order = new Map(run.snapshot?.destinations?.map((d, i) => [d.id, i]) ?? []);
  const sorted = [...deliveries].sort((a, b) => (order.get(a.destinationId) ?? 99) - (order.get(b.destinationId) ?? 99));
  const rest: RunEvent[] = [
    { event: 'progress', key: 'progress', data: progressOf(run, deliveries) },
    ...sorted.map((d): RunEvent => ({ event: 'delivery', key: `delivery:${d.id}`, data: deliveryEventOf(d, run.artifactSize) })),
  ];
  return final ? [...rest, status] : [status, ...rest];
}

/** What one watcher was sent: only changes go out after the first snapshot. */
export class RunEventDiff extends EventDiff<RunEvent> {}

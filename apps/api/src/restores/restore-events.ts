import { FINAL_RESTORE_STATUSES, type RestoreStatus } from '@pbx/contracts';
import type { RestoreEntity, RestoreSectionState } from '@pbx/persistence';

export interface RestoreStatusEvent {
  status: RestoreStatus;
  error: string | null;
  final: boolean;
}

export interface RestoreProgressEvent {
  /** The engine's phase (fetched, verifying, safety-backup, restoring, done, …); null before it starts. */
  phase: string | null;
  bytesDone: number;
  /** null until the archive's size is known. */
  bytesTotal: number | null;
  /** 0–100, whole numbers; null when the total is unknown (100 once final). */
  percent: number | null;
}

/** One section's state (RestoreSectionState): name, status, counts. */
export type RestoreSectionEvent = RestoreSectionState;

export type RestoreEvent =
  | { event: 'status'; key: 'status'; data: RestoreStatusEvent }
  | { event: 'progress'; key: 'progress'; data: RestoreProgressEvent }
  | { event: 'section'; key: string; data: RestoreSectionEvent };

export const isFinalRestore = (r: Pick<RestoreEntity, 'status'>): boolean => FINAL_RESTORE_STATUSES.includes(r.status);

export function restoreProgressOf(r: RestoreEntity): RestoreProgressEvent {
  const final = isFinalRestore(r);
  const percent = final ? 100 : r.bytesTotal ? Math.min(100, Math.floor((r.bytesDone * 100) / r.bytesTotal)) : null;
  return { phase: r.phase, bytesDone: r.bytesDone, bytesTotal: r.bytesTotal, percent };
}

/**
 * A restore's state as events, in the order to send them: the status first while it goes on
 * (a new phase, then its progress and sections), last once it is final (then the end).
 */
export function restoreEventsOf(r: RestoreEntity): RestoreEvent[] {
  const final = isFinalRestore(r);
  const status: RestoreEvent = { event: 'status', key: 'status', data: { status: r.status, error: r.error ?? null, final } };
  const rest: RestoreEvent[] = [
    { event: 'progress', key: 'progress', data: restoreProgressOf(r) },
    ...r.sections.map((s): RestoreEvent => ({ event: 'section', key: `section:${s.name}`, data: s })),
  ];
  return final ? [...rest, status] : [status, ...rest];
}

import type { DeliveryStatus, RunKind } from '@pbx/contracts';
import type { DeliveryEntity, RunEntity } from '@pbx/persistence';

export interface DeliveryResponse {
  destinationId: string;
  type: string;
  target: string;
  status: Exclude<DeliveryStatus, 'running'>;
  code: string | null;
  attempts: number;
  error: string | null;
  location: string | null;
  bytesSent?: number;
  startedAt: string | null;
  finishedAt: string | null;
  /** A delivery waiting after a transient failure (status pending, its code and error set) tries again then. */
  nextAttemptAt: string | null;
  /** A delivery waiting for its configuration's upload window (status waiting) starts then. */
  heldUntil: string | null;
  /** The last read-back of the stored copy, null until one was done. */
  verification: { result: string; at: string | null } | null;
}

export interface RunResponse {
  id: string;
  kind: RunKind;
  /** null for a `safety` run (it belongs to a restore). */
  configurationId: string | null;
  configurationName: string;
  /** A `safety` run: the restore that took it (restoring this run undoes that restore). */
  restoreId: string | null;
  trigger: string;
  status: string;
  catchUp: boolean;
  scheduledFor: string | null;
  deferredUntil: string | null;
  deferrals: { at: string; until: string; heldBy: string | null }[];
  startedAt: string | null;
  packedAt: string | null;
  finishedAt: string | null;
  artifact: { fileName: string; size: number | null; sha256: string | null; removedAt: string | null } | null;
  progress: { bytes: number; entriesDone: number; entriesTotal: number | null } | null;
  counts: Record<string, number> | null;
  deliveries: DeliveryResponse[];
  error: string | null;
  createdAt: string;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export function toDeliveryResponse(d: DeliveryEntity): DeliveryResponse {
  const running = d.status === 'running';
  return {
    destinationId: d.destinationId,
    type: d.type,
    target: d.target,
    // An upload in progress is still pending here (the live events tell running apart).
    status: d.status === 'running' ? 'pending' : d.status,
    code: d.code,
    attempts: d.attempts,
    error: d.error,
    location: d.location,
    ...(running || d.bytesSent > 0 ? { bytesSent: d.bytesSent } : {}),
    startedAt: iso(d.startedAt),
    finishedAt: iso(d.finishedAt),
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    heldUntil: d.status === 'waiting' ? iso(d.nextAttemptAt) : null,
    verification: d.verification ? { result: d.verification, at: iso(d.verifiedAt) } : null,
  };
}

export function toRunResponse(run: RunEntity, deliveries: DeliveryEntity[] = run.deliveries ?? []): RunResponse {
  const order = new Map(run.snapshot?.destinations?.map((d, i) => [d.id, i]) ?? []);
  const sorted = [...deliveries].sort((a, b) => (order.get(a.destinationId) ?? 99) - (order.get(b.destinationId) ?? 99));
  return {
    id: run.id,
    kind: run.kind,
    configurationId: run.configurationId,
    configurationName: run.configurationName,
    restoreId: run.restoreId ?? null,
    trigger: run.trigger,
    status: run.status,
    catchUp: run.catchUp ?? false,
    scheduledFor: iso(run.scheduledFor),
    deferredUntil: iso(run.deferredUntil),
    deferrals: run.deferrals ?? [],
    startedAt: iso(run.startedAt),
    packedAt: iso(run.packedAt),
    finishedAt: iso(run.finishedAt),
    artifact: run.artifactFileName
      ? { fileName: run.artifactFileName, size: run.artifactSize, sha256: run.artifactSha256, removedAt: iso(run.artifactRemovedAt) }
      : null,
    progress: run.progress ? { bytes: run.progress.bytes, entriesDone: run.progress.entriesDone, entriesTotal: run.progress.entriesTotal } : null,
    counts: run.counts ?? null,
    deliveries: sorted.map(toDeliveryResponse),
    error: run.error ?? null,
    createdAt: run.createdAt.toISOString(),
  };
}

import type { RestoreEntity } from '@pbx/persistence';

export interface RestoreResponse {
  id: string;
  status: string;
  phase: string | null;
  source: RestoreEntity['source'];
  mode: string;
  preview: boolean;
  allowOtherPbx: boolean;
  bytesDone: number;
  bytesTotal: number | null;
  sections: RestoreEntity['sections'];
  /** The safety backup taken before a replace (restore it to undo). */
  safetyBackup: RestoreEntity['safetyBackup'];
  /** The run of kind `safety` that keeps it: download it, or restore it to undo this restore. */
  safetyRunId: string | null;
  /** preview: what the restore would change. */
  previewResult?: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Never the sealed key: it is not even said whether one was given. */
export function toRestoreResponse(r: RestoreEntity): RestoreResponse {
  return {
    id: r.id,
    status: r.status,
    phase: r.phase,
    source: r.source,
    mode: r.mode,
    preview: r.preview,
    allowOtherPbx: r.allowOtherPbx,
    bytesDone: r.bytesDone,
    bytesTotal: r.bytesTotal,
    sections: r.sections,
    safetyBackup: r.safetyBackup,
    safetyRunId: r.safetyRunId ?? null,
    ...(r.preview ? { previewResult: r.previewResult } : {}),
    error: r.error,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

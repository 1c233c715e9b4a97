/** A succeeded, not yet pruned delivery of one configuration to one destination. */
export interface KeptFile {
  id: string;
  fileName: string;
  /** The run's scheduled (else creation) time: what the file name's stamp shows, to the millisecond. */
  takenAt: Date;
  finishedAt: Date;
}

export interface Pruning {
  file: KeptFile;
  /** False when a kept delivery has the same file name: that one file is still wanted. */
  deleteFile: boolean;
}

/**
 * What a `keepLast` limit prunes: everything after the newest `keepLast` by run time (then by
 * delivery). Ordering comes from the runs, never from parsing names, so files named before
 * names carried the run id sort among the new ones by the same rule. Two runs in one second
 * used to share one name, i.e. one file: pruning the older must not delete the newer's file.
 */
export function retentionPlan(files: KeptFile[], keepLast: number): Pruning[] {
  const newestFirst = [...files].sort(
    (a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.finishedAt.getTime() - a.finishedAt.getTime() || a.id.localeCompare(b.id),
  );
  const kept = new Set(newestFirst.slice(0, keepLast).map((f) => f.fileName));
  return newestFirst.slice(keepLast).map((file) => ({ file, deleteFile: !kept.has(file.fileName) }));
}

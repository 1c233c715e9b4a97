import { z } from 'zod';

/** Run vocabulary: what a run is, how it was started, where it stands. */

/** What a configuration makes; its runs are of the same kind. */
export const CONFIGURATION_KINDS = ['backup', 'archive'] as const;
export const configurationKindSchema = z.enum(CONFIGURATION_KINDS);
export type ConfigurationKind = z.output<typeof configurationKindSchema>;

/**
 * A configuration's runs, and `safety`: the sections a `replace` restore is about to overwrite,
 * packed by that restore before it changes anything (no configuration, never delivered; restore
 * it to undo the restore).
 */
export const RUN_KINDS = [...CONFIGURATION_KINDS, 'safety'] as const;
export const runKindSchema = z.enum(RUN_KINDS);
export type RunKind = z.output<typeof runKindSchema>;

export const RUN_TRIGGERS = ['schedule', 'manual', 'runOnly'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const RUN_STATUSES = ['queued', 'deferred', 'packing', 'dispatching', 'succeeded', 'partially_failed', 'failed', 'cancelled'] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.output<typeof runStatusSchema>;
const FINAL = ['succeeded', 'partially_failed', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];
/** A run in one of these never changes again. */
export const FINAL_RUN_STATUSES: readonly RunStatus[] = FINAL;
export type FinalRunStatus = (typeof FINAL)[number];
/** How a run that did not succeed ended (a cancelled run did not fail: an operator stopped it). */
export type FailedRunStatus = Exclude<FinalRunStatus, 'succeeded' | 'cancelled'>;

export function isFinalRunStatus(status: RunStatus): status is FinalRunStatus {
  return FINAL_RUN_STATUSES.includes(status);
}

/**
 * How a run ends once every delivery answered, backup or archive alike: succeeded when every
 * delivery succeeded (also when it had none), failed when none did, partially_failed in between.
 * `completed` is for a run whose work goes on after delivering — an archive run deletes what it
 * archived, and only once every destination confirmed the file: true, it succeeded; false (nothing
 * deleted), it did not, and it failed even if every delivery succeeded.
 */
export function runStatusAfterDelivery(deliveries: { succeeded: number; total: number }, completed?: boolean): 'succeeded' | FailedRunStatus {
  if (completed) return 'succeeded';
  const { succeeded, total } = deliveries;
  if (succeeded === total) return completed === false ? 'failed' : 'succeeded';
  return succeeded === 0 ? 'failed' : 'partially_failed';
}

import { z } from 'zod';
import { mustBe, oneOf } from './fields';

/**
 * Restore vocabulary (POST /api/v1/restores): the sections are a backup configuration's `data`
 * keys (CDRs and voicemails are one section, as in the archive), the modes the engine's.
 */
export const RESTORE_SECTIONS = ['coreData', 'cdrAndVoicemails', 'announcements'] as const;
export type RestoreSection = (typeof RESTORE_SECTIONS)[number];

export const RESTORE_MODES = ['replace', 'merge'] as const;
export type RestoreModeName = (typeof RESTORE_MODES)[number];

/** queued → waiting (for the maintenance lock) → verifying → restoring → succeeded | failed | rolled_back. */
export const RESTORE_STATUSES = ['queued', 'waiting', 'verifying', 'restoring', 'succeeded', 'failed', 'rolled_back'] as const;
export type RestoreStatus = (typeof RESTORE_STATUSES)[number];
export const FINAL_RESTORE_STATUSES: readonly RestoreStatus[] = ['succeeded', 'failed', 'rolled_back'];

/**
 * What recovery did to a section of a restore whose restorer died (shown per section):
 * completed (its tables had committed; the audio was put in place), rolled-back (as before
 * the restore), not-started (never touched).
 */
export const RESTORE_RECOVERIES = ['completed', 'rolled-back', 'not-started'] as const;
export type RestoreRecovery = (typeof RESTORE_RECOVERIES)[number];

const uuid = z.uuid({ error: mustBe('a UUID') });

/** Where the archive comes from: a run's staged artifact, a copy at a destination, or an upload. */
export const restoreSourceSchema = z.union(
  [
    z.strictObject({ runId: uuid }),
    z.strictObject({ destinationId: uuid, file: z.string().min(1).max(255) }),
    z.strictObject({ uploadId: uuid }),
  ],
  { error: mustBe('one of { "runId" }, { "destinationId", "file" }, { "uploadId" }') },
);
export type RestoreSource = z.output<typeof restoreSourceSchema>;

export const restoreSectionSchema = oneOf(RESTORE_SECTIONS);
export const restoreModeSchema = oneOf(RESTORE_MODES);

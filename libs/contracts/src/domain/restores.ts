import { z } from 'zod';
import { mustBe, oneOf } from './fields';

/**
 * Restore vocabulary (POST /api/v1/restores). A request names the archive's sections (the
 * `.sar` manifest's `sections`, API.md's `core`, `cdr`, `voicemail`, `announcements`); what a
 * restore changes all-or-nothing are units, a backup configuration's `data` keys, each made of
 * archive sections. CDRs and voicemails are one unit (a voicemail's row, its recording and its
 * call go together), so a request names both or neither.
 */
export const RESTORE_SECTIONS = ['core', 'cdr', 'voicemail', 'announcements'] as const;
export type RestoreSection = (typeof RESTORE_SECTIONS)[number];

/** The one mapping from what is restored as a whole to the archive sections it is made of. */
export const RESTORE_UNITS = {
  coreData: ['core'],
  cdrAndVoicemails: ['cdr', 'voicemail'],
  announcements: ['announcements'],
} as const satisfies Record<string, readonly RestoreSection[]>;
export type RestoreUnit = keyof typeof RESTORE_UNITS;
export const RESTORE_UNIT_NAMES = Object.keys(RESTORE_UNITS) as RestoreUnit[];

/** What a request may name: an archive section, or (as before, still accepted) a unit. */
export const RESTORE_SECTION_NAMES = [...RESTORE_SECTIONS, ...(RESTORE_UNIT_NAMES as ['coreData', 'cdrAndVoicemails', 'announcements'])] as const;

/** Named sections and units → the archive sections, each once, in archive order. */
export function restoreSectionsOf(names: readonly string[]): RestoreSection[] {
  const wanted = new Set(names.flatMap((n) => (n in RESTORE_UNITS ? [...RESTORE_UNITS[n as RestoreUnit]] : [n])));
  return RESTORE_SECTIONS.filter((s) => wanted.has(s));
}

/** The units a list of archive sections (or units: rows from before the contract's names) makes up; `cdr` or `voicemail` alone stand for their unit. */
export function restoreUnitsOf(names: readonly string[]): RestoreUnit[] {
  const sections = restoreSectionsOf(names);
  return RESTORE_UNIT_NAMES.filter((u) => RESTORE_UNITS[u].some((s) => sections.includes(s)));
}

/** A unit named only in part (`cdr` without `voicemail`): the message that refuses it, else null. */
export function partialRestoreUnit(names: readonly string[]): string | null {
  const sections = restoreSectionsOf(names);
  for (const unit of RESTORE_UNIT_NAMES) {
    const parts: readonly RestoreSection[] = RESTORE_UNITS[unit];
    const named = parts.filter((s) => sections.includes(s));
    if (named.length && named.length < parts.length) return `${parts.join(' and ')} are restored together (one all-or-nothing part of the archive): name all of them`;
  }
  return null;
}

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

/** A request's section: the contract's name, or a unit's. */
export const restoreSectionSchema = oneOf(RESTORE_SECTION_NAMES);
export const restoreModeSchema = oneOf(RESTORE_MODES);

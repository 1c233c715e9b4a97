import type { MaintenanceLock } from '@pbx/locking';
import type { AudioKind, PbxSection, RestoreMode, TableDiff, TableRestoreResult } from '@pbx/pbx-source';
import type { SarManifest } from '@pbx/sar';

/** The lock a restore takes (MaintenanceLock fits): the same one backup packing and archiving take. */
export type RestoreLock = Pick<MaintenanceLock, 'acquireLease'>;

export type RestorePhase = 'waiting' | 'verifying' | 'previewing' | 'safety-backup' | 'restoring' | 'recovering' | 'done' | 'failed';

export type SectionStatus = 'pending' | 'staging-audio' | 'loading-tables' | 'swapping-audio' | 'restored' | 'rolled-back' | 'failed';

export interface SectionProgress {
  section: PbxSection;
  mode: RestoreMode;
  status: SectionStatus;
  rowsInserted: number;
  rowsDeleted: number;
  filesWritten: number;
}

/** Told on every phase or section change and every few MiB; the caller turns it into events. */
export interface RestoreProgress {
  restoreId: string | null;
  phase: RestorePhase;
  /** While `waiting`: who holds the maintenance lock. */
  heldBy?: string | null;
  /** Uncompressed archive bytes of the current phase (verifying, restoring) or bytes written (safety-backup). */
  bytesDone: number;
  /** null while unknown (the safety backup's size). */
  bytesTotal: number | null;
  sections: SectionProgress[];
}

/** A point between two steps of a section; `checkpoint` is awaited there (tests pause the process and kill it). */
export type RestoreCheckpoint = 'journal-opened' | 'audio-staged' | 'tables-loaded' | 'tables-committed' | 'audio-half-swapped' | 'audio-swapped';

/** Per section, or one mode for all. `merge` exists for `cdrAndVoicemails` only. */
export type RestoreModes = RestoreMode | Partial<Record<PbxSection, RestoreMode>>;

export interface PlanOptions {
  /** Default: every section the archive holds. */
  sections?: PbxSection[];
  mode: RestoreModes;
  /** Accept an archive whose manifest names another PBX. */
  allowOtherPbx?: boolean;
  /** The SHA-256 recorded for the whole file (run artifact, delivery): checked before anything else. */
  expectedSha256?: string;
  signal?: AbortSignal;
}

export interface PreviewOptions extends PlanOptions {
  onProgress?: (progress: RestoreProgress) => void;
}

export interface RestoreOptions extends PlanOptions {
  /** Names the journal, staging folders, the safety backup and the lock holder (`restore:<id>`). */
  restoreId: string;
  lock: RestoreLock;
  onProgress?: (progress: RestoreProgress) => void;
  checkpoint?: (step: RestoreCheckpoint, section: PbxSection) => Promise<void> | void;
  /**
   * Awaited once the safety backup is packed (after the sections, from what was captured before
   * any of them changed): the caller keeps it; the captured data is removed only after that.
   */
  onSafetyBackup?: (backup: SafetyBackup) => Promise<void>;
}

export interface RecoverOptions {
  lock: RestoreLock;
  /** As for a restore: a safety backup recovery packs from the restore's capture. */
  onSafetyBackup?: (backup: SafetyBackup) => Promise<void>;
  onProgress?: (progress: RestoreProgress) => void;
  signal?: AbortSignal;
}

export interface ArchiveSummary {
  pbxId: string;
  kind: SarManifest['kind'];
  createdAt: string;
  configurationName: string;
  sections: SarManifest['sections'];
  counts: Record<string, number>;
}

export interface AudioDiff {
  folder: AudioKind;
  filesAdded: number;
  /** Same name, different SHA-256. Always 0 for `merge`. */
  filesReplaced: number;
  filesRemoved: number;
  filesUnchanged: number;
  /** Bytes the restore would write into the folder. */
  bytesToWrite: number;
}

export interface SectionPreview {
  section: PbxSection;
  mode: RestoreMode;
  tables: TableDiff[];
  audio: AudioDiff | null;
}

export interface RestorePreview {
  archive: ArchiveSummary;
  sections: SectionPreview[];
}

export interface SafetyBackup {
  path: string;
  size: number;
  sha256: string;
  sections: PbxSection[];
}

export interface SectionResult {
  section: PbxSection;
  mode: RestoreMode;
  tables: TableRestoreResult[];
  /** Audio files put in place (replace: every file of the folder; merge: the missing ones). */
  filesWritten: number;
}

export interface RestoreResult {
  restoreId: string;
  archive: ArchiveSummary;
  /** Of the sections a `replace` changed (null when every section merges): restore it to undo. */
  safetyBackup: SafetyBackup | null;
  /** Why the safety backup could not be packed (its data stays captured; recovery at the next start packs it). */
  safetyBackupError: string | null;
  sections: SectionResult[];
}

/** What recovery did per section: finished the swap, rolled back, or found it already final. */
export type RecoveryOutcome = 'finished' | 'rolled-back' | 'already-done' | 'already-rolled-back';

export interface RecoveryResult {
  restoreId: string;
  sections: { section: PbxSection; mode: RestoreMode; outcome: RecoveryOutcome }[];
  /** Packed by this recovery from the restore's capture (null when there was none to pack). */
  safetyBackup: SafetyBackup | null;
}

export type RestoreRefusal =
  | 'invalidArchive'
  | 'otherPbx'
  | 'sectionNotInArchive'
  | 'modeNotAllowed'
  | 'alreadyRan'
  | 'needsRecovery';

/** The restore did not start (the PBX is unchanged). `badEntry` names the damaged entry. */
export class RestoreRefusedError extends Error {
  constructor(
    readonly code: RestoreRefusal,
    message: string,
    readonly badEntry?: string,
  ) {
    super(message);
    this.name = 'RestoreRefusedError';
  }
}

/**
 * A section failed. Sections before it are restored, it is rolled back unless
 * `needsRecovery` (its state could not be recorded: run `recover`).
 */
export class RestoreFailedError extends Error {
  constructor(
    message: string,
    readonly sections: SectionProgress[],
    readonly needsRecovery: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RestoreFailedError';
  }
}

import type { Readable } from 'node:stream';
import type { AudioKind, PbxTable } from './pbx-source.interface';

/** What a restore puts back, as an admin chooses it (the keys of a backup configuration's `data`). */
export const PBX_SECTIONS = ['coreData', 'cdrAndVoicemails', 'announcements'] as const;
export type PbxSection = (typeof PBX_SECTIONS)[number];

/** `replace`: the section becomes exactly the archive's; `merge`: only what is missing by key is added. */
export type RestoreMode = 'replace' | 'merge';

/**
 * A section's journal state. `staging` → tables not committed (recovery rolls back);
 * `committed` → tables committed with this state, audio not yet swapped in (recovery finishes);
 * `done` / `rolled_back` → final.
 */
export const RESTORE_JOURNAL_STATES = ['staging', 'committed', 'done', 'rolled_back'] as const;
export type RestoreJournalState = (typeof RESTORE_JOURNAL_STATES)[number];

export interface RestoreJournalEntry {
  restoreId: string;
  section: PbxSection;
  mode: RestoreMode;
  audioFolder: AudioKind | null;
  state: RestoreJournalState;
  updatedAt: Date;
}

/** One table's data as a CSV stream with a header line (the `.sar` dialect), opened on demand. */
export interface TableLoad {
  table: PbxTable;
  open: () => Promise<Readable>;
}

export interface TableDiff {
  table: PbxTable;
  rowsInArchive: number;
  /** By primary key; for `merge`, rows the insert would add (no key of any unique index taken). */
  rowsAdded: number;
  rowsRemoved: number;
  /** Same primary key, different content. Always 0 for `merge` (it changes nothing present). */
  rowsChanged: number;
  /** Live rows that stay exactly as they are. */
  rowsUnchanged: number;
}

export interface TableRestoreResult {
  table: PbxTable;
  rowsBefore: number;
  rowsInserted: number;
  rowsDeleted: number;
}

export interface CommitSectionOptions {
  /** Journal state written in the same transaction: `committed` when audio still has to be swapped in, else `done`. */
  nextState: 'committed' | 'done';
  /** Called with every table loaded, just before COMMIT (progress; crash tests pause here). */
  beforeCommit?: () => Promise<void>;
  signal?: AbortSignal;
}

export interface PublishAudioOptions {
  /** Called halfway through the swap (crash tests pause here). */
  midway?: () => Promise<void>;
}

/**
 * The restore side of the PBX: tables replaced or merged in one transaction per section,
 * audio staged beside its live folder (`<folder>.restore-<id>`) and swapped in by rename,
 * and a journal (in the PBX database, so it commits with the tables) that lets recovery
 * decide after a crash. Every method is idempotent where recovery may repeat it.
 */
export interface PbxRestoreTarget {
  /** What loading these tables would change; runs in a transaction that is rolled back. */
  diffTables(tables: TableLoad[], mode: RestoreMode, signal?: AbortSignal): Promise<TableDiff[]>;
  /** Size of a live audio file (`relativePath` as in the data dir, e.g. `voicemail/201/vm-1.wav`), null if absent. */
  liveAudioSize(relativePath: string): Promise<number | null>;
  liveAudioSha256(relativePath: string): Promise<string>;
  /** Every live file of an audio folder, sorted by path. */
  liveAudio(folder: AudioKind): AsyncIterable<{ relativePath: string; size: number }>;

  /** Starts a section: journal row in state `staging`. Fails if the row exists. */
  openJournal(restoreId: string, section: PbxSection, mode: RestoreMode, audioFolder: AudioKind | null): Promise<void>;
  /**
   * The restore's journal. `waitForWriters`: first waits for any transaction still holding a
   * row (a restorer that died mid-commit), so the states read are final.
   */
  readJournal(restoreId: string, options?: { waitForWriters?: boolean }): Promise<RestoreJournalEntry[]>;
  /** Conditional state change; false when the row was not in `from`. */
  markJournal(restoreId: string, section: PbxSection, from: RestoreJournalState, to: RestoreJournalState): Promise<boolean>;
  /** Restore ids with a section in `staging` or `committed` (to recover at boot). */
  unfinishedRestores(): Promise<string[]>;

  /**
   * One transaction: replace = TRUNCATE + COPY of every table; merge = COPY into a staging
   * table + INSERT … ON CONFLICT DO NOTHING. Sequences move past the loaded keys (never
   * back), and the journal row moves from `staging` to `nextState` in the same commit.
   */
  commitSection(restoreId: string, section: PbxSection, tables: TableLoad[], mode: RestoreMode, options: CommitSectionOptions): Promise<TableRestoreResult[]>;

  /** Empties (creates) the staging folder of `folder` for this restore. */
  prepareStagedAudio(restoreId: string, folder: AudioKind): Promise<void>;
  /** Writes one audio file into the staging folder (durable only after syncStagedAudio). */
  writeStagedAudio(restoreId: string, folder: AudioKind, relativePath: string, data: Readable, signal?: AbortSignal): Promise<void>;
  /** Makes every staged file and folder durable: after the tables commit, recovery relies on them. */
  syncStagedAudio(restoreId: string, folder: AudioKind, signal?: AbortSignal): Promise<void>;
  /**
   * Puts the staged audio live. replace: the staged folder becomes the live one (the old one
   * is removed); merge: each staged file is moved in where its name is free, never over a
   * live file. Idempotent: finishes a swap a crash interrupted. Returns the files moved in.
   */
  publishStagedAudio(restoreId: string, folder: AudioKind, mode: RestoreMode, options?: PublishAudioOptions): Promise<number>;
  /** Removes the staging folder (rollback). Idempotent. */
  discardStagedAudio(restoreId: string, folder: AudioKind): Promise<void>;
  /** Where the live folder is (the safety backup's capture links its files beside it). */
  liveAudioDir(folder: AudioKind): string;
  close(): Promise<void>;
}

import type { Readable } from 'node:stream';

/** Core tables of the PBX, in the order they are exported. */
export const CORE_TABLES = ['users', 'groups', 'group_members', 'phones', 'number_assignments', 'chat_messages'] as const;
export type CoreTable = (typeof CORE_TABLES)[number];

/** Every table whose rows `stats()` counts. */
export const PBX_TABLES = [...CORE_TABLES, 'cdr', 'voicemails'] as const;
export type PbxTable = (typeof PBX_TABLES)[number];

export type AudioKind = 'voicemail' | 'announcements';

export interface AudioFile {
  /** Path relative to the data dir with forward slashes, e.g. `voicemail/201/vm-000001.wav`. */
  relativePath: string;
  absolutePath: string;
  size: number;
}

export interface PbxStats {
  rowCounts: Record<PbxTable, number>;
  /** Bytes of every file under the data dir (voicemail audio, announcements, anything else). */
  dataDirBytes: number;
  dataDirFiles: number;
  /** Postgres' own size of the PBX tables (heap + indexes). */
  databaseBytes: number;
}

export interface ArchiveCriteria {
  /** CDRs that started before this instant; omitted = no CDRs. */
  cdrOlderThan?: Date;
  /** Voicemails received before this instant; omitted = no voicemails. */
  voicemailsOlderThan?: Date;
}

/** The fixed set of items of one archiving run, stored in the PBX database under `selectionId`. */
export interface ArchiveSelection {
  selectionId: string;
  createdAt: Date;
  cdrOlderThan: Date | null;
  voicemailsOlderThan: Date | null;
  cdrCount: number;
  voicemailCount: number;
}

export interface DeleteArchivedOptions {
  /** Items deleted per transaction (default 5000). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after every committed batch (progress; tests use it to simulate a crash). */
  onBatch?: (progress: DeleteArchivedResult) => void;
}

export interface DeleteArchivedResult {
  cdrDeleted: number;
  voicemailsDeleted: number;
  filesDeleted: number;
}

/** Restricts a reader to the items of an archive selection. */
export interface SelectionFilter {
  selectionId?: string;
}

/**
 * The PBX's data as a backup reads it. Every reader streams: nothing is buffered whole.
 * Table readers produce CSV with a header line (Postgres `COPY … CSV HEADER` dialect).
 */
export interface PbxSource {
  openCoreTable(table: CoreTable): Promise<Readable>;
  /** CDRs ordered by id; with a selection id only the selected rows. */
  openCdrCsv(filter?: SelectionFilter): Promise<Readable>;
  /** Voicemail metadata ordered by id; with a selection id only the selected rows. */
  openVoicemailCsv(filter?: SelectionFilter): Promise<Readable>;
  /**
   * Audio files, sorted by relative path. `voicemail` without a selection walks the
   * data dir; with a selection it yields exactly the selected voicemails' files.
   */
  audioFiles(kind: AudioKind, filter?: SelectionFilter): AsyncIterable<AudioFile>;
  stats(): Promise<PbxStats>;
  /**
   * Fixes the items to archive at this moment and stores them under `selectionId`.
   * Calling it again with the same id returns the stored selection unchanged.
   */
  selectArchiveItems(selectionId: string, criteria: ArchiveCriteria): Promise<ArchiveSelection>;
  getArchiveSelection(selectionId: string): Promise<ArchiveSelection | null>;
  /**
   * Deletes exactly the selected rows and voicemail files, in batches. Idempotent and
   * resumable: a re-run after a crash continues where it stopped and touches nothing else.
   */
  deleteArchived(selectionId: string, options?: DeleteArchivedOptions): Promise<DeleteArchivedResult>;
  /** Forgets a selection (its bookkeeping rows only; never PBX data). */
  dropArchiveSelection(selectionId: string): Promise<void>;
  close(): Promise<void>;
}

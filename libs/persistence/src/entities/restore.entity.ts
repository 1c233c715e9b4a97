import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { RestoreModeName, RestoreRecovery, RestoreSection, RestoreSource, RestoreStatus, RestoreUnit } from '@pbx/contracts';

/** A section's state as the restore reports it (the engine's SectionProgress). */
export interface RestoreSectionState {
  /** What was restored as a whole (coreData, cdrAndVoicemails, announcements). */
  name: RestoreUnit;
  status: string;
  counts: { rowsInserted: number; rowsDeleted: number; filesWritten: number };
  /** Set when a restorer died mid-restore and a restarted one settled it: what recovery did to this section. */
  recovery?: RestoreRecovery;
}

/** A restore of an archive into the PBX (POST /api/v1/restores); RestoresRepository is its one writer. */
@Entity('restores')
@Index('restores_created_idx', ['createdAt'])
export class RestoreEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status!: RestoreStatus;

  /** The engine's phase (waiting, verifying, safety-backup, restoring, …). */
  @Column({ type: 'varchar', length: 16, nullable: true })
  phase!: string | null;

  @Column({ type: 'jsonb' })
  source!: RestoreSource;

  /** The archive sections asked for (rows from before the contract's names hold units); empty: every section the archive holds. */
  @Column({ name: 'requested_sections', type: 'jsonb' })
  requestedSections!: (RestoreSection | RestoreUnit)[];

  @Column({ type: 'varchar', length: 8 })
  mode!: RestoreModeName;

  @Column({ type: 'boolean', default: false })
  preview!: boolean;

  @Column({ name: 'allow_other_pbx', type: 'boolean', default: false })
  allowOtherPbx!: boolean;

  /** The SecretBox-sealed passphrase or identity for an encrypted archive; erased when the restore is final. */
  @Column({ name: 'key_sealed', type: 'text', nullable: true })
  keySealed!: string | null;

  @Column({ name: 'bytes_done', type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  bytesDone!: number;

  @Column({ name: 'bytes_total', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  bytesTotal!: number | null;

  @Column({ type: 'jsonb', default: () => `'[]'` })
  sections!: RestoreSectionState[];

  /** The safety backup taken before a replace: its key in the artifact store (`<run id>.sar`), size and checksum (restore its run to undo). */
  @Column({ name: 'safety_backup', type: 'jsonb', nullable: true })
  safetyBackup!: { path: string; size: number; sha256: string } | null;

  /** The run of kind `safety` that keeps the safety backup (downloadable, restorable: restore it to undo). */
  @Column({ name: 'safety_run_id', type: 'uuid', nullable: true })
  safetyRunId!: string | null;

  /** preview: what the restore would change. */
  @Column({ name: 'preview_result', type: 'jsonb', nullable: true })
  previewResult!: Record<string, unknown> | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}

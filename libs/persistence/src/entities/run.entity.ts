import { Column, CreateDateColumn, Entity, Index, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn, type Relation } from 'typeorm';
import type { ConfigurationKind, DestinationType, EncryptionSettings, RunKind, RunStatus, RunTrigger, UploadWindow, VerifySettings } from '@pbx/contracts';
import type { ArchiveItems, BackupSections, Language } from './configuration.entity';
import { DeliveryEntity } from './delivery.entity';

// The run vocabulary is the contracts'; re-exported for the code that reads it from here.
export { FINAL_RUN_STATUSES, RUN_STATUSES, type RunStatus, type RunTrigger } from '@pbx/contracts';

/** What a run needs of its configuration, frozen when the run is created. No secrets. */
export interface RunSnapshot {
  name: string;
  reportTo: string;
  language: Language;
  notifyOnSuccess: boolean;
  keepLast: number | null;
  /** Retention beside keepLast; absent in runs made before these rules: off. */
  keepDaily?: number | null;
  keepWeekly?: number | null;
  keepMonthly?: number | null;
  maxAgeDays?: number | null;
  /** The configuration's time zone (retention's days, upload windows). Absent in older runs: UTC. */
  timezone?: string;
  /** When uploads may start; absent or empty: any time. */
  uploadWindows?: UploadWindow[];
  interval: string;
  data: BackupSections | ArchiveItems;
  destinations: { id: string; type: DestinationType }[];
  /** Whom the archive is encrypted for (a passphrase stays sealed in the configuration). Absent in runs before encryption: none. */
  encryption?: EncryptionSettings;
  /** How its copies are checked (afterUpload sha256: read back right after each upload). Absent in older runs: size only. */
  verify?: VerifySettings;
}

/** A configuration's run (backup or archive): what queues, packs, delivers and reports handle. */
export type ConfigurationRun = RunEntity & { kind: ConfigurationKind; configurationId: string };

/** False for a `safety` run: it belongs to a restore, not to a configuration. */
export function isConfigurationRun(run: RunEntity): run is ConfigurationRun {
  return run.kind !== 'safety' && run.configurationId !== null;
}

export interface RunProgress {
  bytes: number;
  entriesDone: number;
  entriesTotal: number | null;
  updatedAt: string;
}

export interface Deferral {
  at: string;
  until: string;
  heldBy: string | null;
}

@Entity('runs')
@Index('runs_slot_unique', ['configurationId', 'scheduledFor'], { unique: true, where: 'scheduled_for IS NOT NULL' })
@Index('runs_configuration_idx', ['configurationId', 'createdAt'])
@Index('runs_status_idx', ['status', 'createdAt'])
@Index('runs_restore_unique', ['restoreId'], { unique: true, where: 'restore_id IS NOT NULL' })
export class RunEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: RunKind;

  /** null for a `safety` run: it belongs to a restore, not to a configuration. */
  @Column({ name: 'configuration_id', type: 'uuid', nullable: true })
  configurationId!: string | null;

  /** A `safety` run: the restore that took it (one per restore). */
  @Column({ name: 'restore_id', type: 'uuid', nullable: true })
  restoreId!: string | null;

  @Column({ name: 'configuration_name', type: 'varchar', length: 64 })
  configurationName!: string;

  @Column({ type: 'varchar', length: 16 })
  trigger!: RunTrigger;

  /** A scheduled run that stands for one or more slots missed while the scheduler was down. */
  @Column({ name: 'catch_up', type: 'boolean', default: false })
  catchUp!: boolean;

  @Column({ type: 'varchar', length: 20 })
  status!: RunStatus;

  @Column({ name: 'scheduled_for', type: 'timestamptz', nullable: true })
  scheduledFor!: Date | null;

  @Column({ name: 'deferred_until', type: 'timestamptz', nullable: true })
  deferredUntil!: Date | null;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  deferrals!: Deferral[];

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'packed_at', type: 'timestamptz', nullable: true })
  packedAt!: Date | null;

  /** Every delivery answered (set once; an archive run is then handed to the archiver). */
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'artifact_file_name', type: 'varchar', length: 200, nullable: true })
  artifactFileName!: string | null;

  @Column({ name: 'artifact_size', type: 'bigint', nullable: true, transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  artifactSize!: number | null;

  @Column({ name: 'artifact_sha256', type: 'varchar', length: 64, nullable: true })
  artifactSha256!: string | null;

  @Column({ name: 'artifact_removed_at', type: 'timestamptz', nullable: true })
  artifactRemovedAt!: Date | null;

  @Column({ type: 'jsonb', nullable: true })
  progress!: RunProgress | null;

  /** Row and file counts per section (and, for archiving, PBX size before/after). */
  @Column({ type: 'jsonb', nullable: true })
  counts!: Record<string, number> | null;

  @Column({ type: 'jsonb' })
  snapshot!: RunSnapshot;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @OneToMany(() => DeliveryEntity, (d) => d.run)
  deliveries?: Relation<DeliveryEntity[]>;
}

import { Column, CreateDateColumn, Entity, Index, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn, type Relation } from 'typeorm';
import type { ConfigurationKind, EncryptionSettings, Interval, Language, UploadWindow, VerifySettings, WebhookSettings } from '@pbx/contracts';
import { DestinationEntity } from './destination.entity';

export type { Interval, Language };

/** Which data a backup includes (`kind: backup`). */
export interface BackupSections {
  coreData: boolean;
  cdrAndVoicemails: boolean;
  announcements: boolean;
}
/** What archiving moves off the PBX (`kind: archive`). */
export interface ArchiveItems {
  cdr: { enabled: boolean; daysToKeep: number };
  voicemails: { enabled: boolean; daysToKeep: number };
}

/**
 * A backup or archive configuration. Deleted ones are kept (soft delete) so their runs
 * stay in the history; `runOnly` ones are `ephemeral` and never listed.
 */
@Entity('configurations')
@Index('configurations_name_unique', ['kind', 'nameKey'], { unique: true, where: 'deleted_at IS NULL AND ephemeral = false' })
@Index('configurations_next_run_idx', ['nextRunAt'], { where: 'next_run_at IS NOT NULL AND deleted_at IS NULL' })
export class ConfigurationEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: ConfigurationKind;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  /**
   * nameKey(name) of @pbx/contracts (NFC, case-folded): the uniqueness key. Folding turns one
   * character into at most three (64 -> 192); the rest is room for the "/<id>" suffix the
   * canonical-name-key migration gave duplicates that existed before the key was canonical.
   */
  @Column({ name: 'name_key', type: 'varchar', length: 255 })
  nameKey!: string;

  @Column({ name: 'report_to', type: 'varchar', length: 320 })
  reportTo!: string;

  @Column({ type: 'varchar', length: 16 })
  interval!: Interval;

  /** As the admin wrote it: a local wall time in `timezone`, or an ISO time with offset. */
  @Column({ name: 'start_at', type: 'varchar', length: 40, nullable: true })
  startAt!: string | null;

  @Column({ type: 'varchar', length: 64 })
  timezone!: string;

  /** BackupSections for backups, ArchiveItems for archiving. */
  @Column({ type: 'jsonb' })
  data!: BackupSections | ArchiveItems;

  @Column({ name: 'keep_last', type: 'integer', nullable: true })
  keepLast!: number | null;

  /** Retention beside keepLast (restic's forget rules; null = off); backup configurations only. */
  @Column({ name: 'keep_daily', type: 'integer', nullable: true })
  keepDaily!: number | null;

  @Column({ name: 'keep_weekly', type: 'integer', nullable: true })
  keepWeekly!: number | null;

  @Column({ name: 'keep_monthly', type: 'integer', nullable: true })
  keepMonthly!: number | null;

  @Column({ name: 'max_age_days', type: 'integer', nullable: true })
  maxAgeDays!: number | null;

  /** Local times (in `timezone`) when uploads may start; empty: any time. */
  @Column({ name: 'upload_windows', type: 'jsonb', default: () => `'[]'` })
  uploadWindows!: UploadWindow[];

  @Column({ name: 'notify_on_success', type: 'boolean', default: false })
  notifyOnSuccess!: boolean;

  @Column({ type: 'varchar', length: 2, default: 'en' })
  language!: Language;

  /** How its archives are encrypted: the mode and age public keys; never the passphrase. */
  @Column({ type: 'jsonb', default: () => `'{"mode": "none"}'` })
  encryption!: EncryptionSettings;

  /** How stored copies are checked: after upload (size or a read-back sha256) and optionally on a schedule. Backup configurations only. */
  @Column({ type: 'jsonb', default: () => `'{"afterUpload": "size"}'` })
  verify!: VerifySettings;

  /** The SecretBox-sealed passphrase (mode `passphrase`); erased with the destination secrets. */
  @Column({ name: 'encryption_passphrase', type: 'text', nullable: true })
  encryptionPassphrase!: string | null;

  /** Webhooks the notifier also tells (url, format, events; docs/notifications.md); never their secrets. */
  @Column({ type: 'jsonb', default: () => `'[]'` })
  webhooks!: WebhookSettings[];

  /** Webhook id -> SecretBox-sealed signing secret; erased with the destination secrets when the configuration is deleted. */
  @Column({ name: 'webhook_secrets', type: 'jsonb', default: () => `'{}'` })
  webhookSecrets!: Record<string, string>;

  @Column({ type: 'boolean', default: false })
  ephemeral!: boolean;

  @Column({ name: 'next_run_at', type: 'timestamptz', nullable: true })
  nextRunAt!: Date | null;

  @Column({ name: 'last_success_at', type: 'timestamptz', nullable: true })
  lastSuccessAt!: Date | null;

  /** Set when the staleness alarm fired; cleared by the next success (re-arms it). */
  @Column({ name: 'stale_alerted_at', type: 'timestamptz', nullable: true })
  staleAlertedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  @OneToMany(() => DestinationEntity, (d) => d.configuration)
  destinations?: Relation<DestinationEntity[]>;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * E-mails sent, one row per (subject, kind): a run's failure/success report or a
 * configuration's staleness alert. Inserted before the send is acknowledged, so a
 * redelivered event never mails twice.
 */
@Entity('notifications')
export class NotificationEntity {
  /** A run id, or a configuration id for staleness alerts. */
  @PrimaryColumn({ name: 'subject_id', type: 'uuid' })
  subjectId!: string;

  /** e.g. backup.failed, backup.succeeded, stale:<iso time of the alert> */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  kind!: string;

  @Column({ name: 'recipient', type: 'varchar', length: 320 })
  recipient!: string;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** A message that exhausted its retries (or could never be handled), kept for ops. */
@Entity('dead_letters')
@Index('dead_letters_queue_message_unique', ['queue', 'messageId'], { unique: true })
@Index('dead_letters_correlation_idx', ['correlationId'])
export class DeadLetterEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** The consumer queue the message died in. */
  @Column({ type: 'varchar', length: 128 })
  queue!: string;

  @Column({ name: 'message_id', type: 'varchar', length: 128 })
  messageId!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  type!: string | null;

  @Column({ name: 'routing_key', type: 'varchar', length: 128, nullable: true })
  routingKey!: string | null;

  @Column({ name: 'correlation_id', type: 'varchar', length: 64, nullable: true })
  correlationId!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  headers!: Record<string, unknown>;

  /** The original body as text (it may not even be JSON). */
  @Column({ type: 'text' })
  body!: string;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'integer', default: 1 })
  attempts!: number;

  @Column({ name: 'first_failed_at', type: 'timestamptz' })
  firstFailedAt!: Date;

  @Column({ name: 'last_failed_at', type: 'timestamptz' })
  lastFailedAt!: Date;

  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt!: Date;

  @Column({ name: 'replayed_at', type: 'timestamptz', nullable: true })
  replayedAt!: Date | null;

  @Column({ name: 'replayed_by', type: 'varchar', length: 128, nullable: true })
  replayedBy!: string | null;

  @Column({ name: 'discarded_at', type: 'timestamptz', nullable: true })
  discardedAt!: Date | null;

  @Column({ name: 'discarded_by', type: 'varchar', length: 128, nullable: true })
  discardedBy!: string | null;
}

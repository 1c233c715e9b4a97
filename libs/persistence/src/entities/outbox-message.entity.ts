import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Transactional outbox: written in the same transaction as the change it announces. */
@Entity('outbox')
@Index('outbox_pending_idx', ['availableAt'], { where: 'published_at IS NULL' })
export class OutboxMessageEntity {
  /** Also the message id on the wire. */
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'routing_key', type: 'varchar', length: 128 })
  routingKey!: string;

  @Column({ name: 'correlation_id', type: 'varchar', length: 64 })
  correlationId!: string;

  @Column({ type: 'jsonb' })
  payload!: unknown;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** Not published before this instant (deferred runs). */
  @Column({ name: 'available_at', type: 'timestamptz', default: () => 'now()' })
  availableAt!: Date;

  @Column({ name: 'published_at', type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;
}

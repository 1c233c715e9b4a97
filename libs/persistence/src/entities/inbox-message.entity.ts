import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Messages a consumer group has fully handled: a redelivery or replay of one is skipped. */
@Entity('inbox')
export class InboxMessageEntity {
  // message_id leads the key: see migration 1764230400000-inbox-key-order.
  @PrimaryColumn({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  @PrimaryColumn({ type: 'varchar', length: 128 })
  consumer!: string;

  @Column({ name: 'processed_at', type: 'timestamptz', default: () => 'now()' })
  processedAt!: Date;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Messages a consumer group has fully handled: a redelivery or replay of one is skipped. */
@Entity('inbox')
export class InboxMessageEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  consumer!: string;

  @PrimaryColumn({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  @Column({ name: 'processed_at', type: 'timestamptz', default: () => 'now()' })
  processedAt!: Date;
}

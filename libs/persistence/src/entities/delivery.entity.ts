import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import { DELIVERY_STATUSES, type DeliveryCode, type DeliveryStatus, type DestinationType, type VerificationResult } from '@pbx/contracts';
import { RunEntity } from './run.entity';

// The delivery vocabulary is the contracts'; re-exported for the code that reads it from here.
export { DELIVERY_STATUSES, type DeliveryStatus };

/** One run's delivery to one destination; unique per (run, destination) so a fan-out replay adds nothing. */
@Entity('deliveries')
@Index('deliveries_run_destination_unique', ['runId', 'destinationId'], { unique: true })
@Index('deliveries_retention_idx', ['destinationId', 'finishedAt'], { where: "status = 'succeeded' AND pruned_at IS NULL" })
export class DeliveryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @ManyToOne(() => RunEntity, (r) => r.deliveries, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id' })
  run?: Relation<RunEntity>;

  @Column({ name: 'destination_id', type: 'uuid' })
  destinationId!: string;

  @Column({ type: 'varchar', length: 16 })
  type!: DestinationType;

  @Column({ type: 'varchar', length: 300, default: '' })
  target!: string;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: DeliveryStatus;

  @Column({ type: 'varchar', length: 32, nullable: true })
  code!: DeliveryCode | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  location!: string | null;

  @Column({ name: 'bytes_sent', type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  bytesSent!: number;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** The first failure of the attempts so far: the retry budget (DELIVERY_RETRY_FOR_MS) runs from here. */
  @Column({ name: 'failing_since', type: 'timestamptz', nullable: true })
  failingSince!: Date | null;

  /** A waiting delivery's next attempt (its backup.deliver is held back in the outbox until then). */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;

  /** Set when retention deleted this file at the destination. */
  @Column({ name: 'pruned_at', type: 'timestamptz', nullable: true })
  prunedAt!: Date | null;

  /** The last read-back of the stored copy (POST /runs/:id/verify, verify.afterUpload, verify.schedule). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  verification!: VerificationResult | null;

  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt!: Date | null;
}

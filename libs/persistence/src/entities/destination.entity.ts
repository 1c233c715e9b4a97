import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import type { DestinationType } from '@pbx/contracts';
import { ConfigurationEntity } from './configuration.entity';

/**
 * One destination of a configuration. Non-secret fields live in `settings`; secret
 * fields are sealed (AES-256-GCM, see @pbx/secrets) in `secrets` and never leave the
 * service in clear except to the adapter that uses them.
 */
@Entity('destinations')
@Index('destinations_configuration_idx', ['configurationId', 'position'])
export class DestinationEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'configuration_id', type: 'uuid' })
  configurationId!: string;

  @ManyToOne(() => ConfigurationEntity, (c) => c.destinations, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'configuration_id' })
  configuration?: Relation<ConfigurationEntity>;

  @Column({ type: 'integer' })
  position!: number;

  @Column({ type: 'varchar', length: 16 })
  type!: DestinationType;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  settings!: Record<string, unknown>;

  /** field name -> sealed value */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  secrets!: Record<string, string>;

  /** Soft delete: deliveries of past runs still name this destination. */
  @Column({ name: 'removed_at', type: 'timestamptz', nullable: true })
  removedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

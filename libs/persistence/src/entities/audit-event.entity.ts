import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One audited change or access to PBX data (docs/security.md). Written only by the api's
 * AuditService and the ops CLI; never holds a secret. Pruned after AUDIT_RETENTION_DAYS.
 */
@Entity('audit_events')
@Index('audit_events_at_idx', ['at'])
@Index('audit_events_action_at_idx', ['action', 'at'])
@Index('audit_events_target_at_idx', ['targetId', 'at'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  /** Null for the ADMIN_API_TOKEN, the ops CLI and unauthenticated callers. */
  @Column({ name: 'token_id', type: 'uuid', nullable: true })
  tokenId!: string | null;

  @Column({ name: 'token_name', type: 'varchar', length: 64 })
  tokenName!: string;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ name: 'target_type', type: 'varchar', length: 32, nullable: true })
  targetType!: string | null;

  @Column({ name: 'target_id', type: 'varchar', length: 128, nullable: true })
  targetId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: string;

  @Column({ name: 'client_address', type: 'varchar', length: 64, nullable: true })
  clientAddress!: string | null;

  /** Non-secret facts (HTTP status, refusal code, pinned fingerprint). */
  @Column({ type: 'jsonb', nullable: true })
  detail!: Record<string, string | number | boolean | null> | null;
}

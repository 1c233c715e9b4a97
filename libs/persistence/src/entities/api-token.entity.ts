import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Extra API tokens with a role, stored as SHA-256 hashes (the token itself is shown once, by the CLI). */
@Entity('api_tokens')
@Index('api_tokens_hash_unique', ['tokenHash'], { unique: true })
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  name!: string;

  /** admin | operator | viewer (libs/contracts ROLES); tokens made before roles existed are admin. */
  @Column({ type: 'varchar', length: 16 })
  role!: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}

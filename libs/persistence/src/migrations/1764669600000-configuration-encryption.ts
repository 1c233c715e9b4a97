import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * configurations.encryption / encryption_passphrase: a configuration's archives may be age
 * encrypted (docs/encryption.md). `encryption` holds the mode and public keys in clear;
 * the passphrase is SecretBox-sealed like destination secrets. Existing rows: no encryption.
 */
export class ConfigurationEncryption1764669600000 implements MigrationInterface {
  name = 'ConfigurationEncryption1764669600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "configurations" ADD "encryption" jsonb NOT NULL DEFAULT '{"mode": "none"}'`);
    await q.query(`ALTER TABLE "configurations" ADD "encryption_passphrase" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "configurations" DROP COLUMN "encryption_passphrase"`);
    await q.query(`ALTER TABLE "configurations" DROP COLUMN "encryption"`);
  }
}

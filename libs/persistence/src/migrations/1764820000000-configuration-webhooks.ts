import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * configurations.webhooks / webhook_secrets (issue #22): a configuration's webhooks in clear
 * (id, url, format, events) and their signing secrets SecretBox-sealed apart, keyed by webhook
 * id, like destinations' settings and secrets. Existing rows: no webhooks.
 */
export class ConfigurationWebhooks1764820000000 implements MigrationInterface {
  name = 'ConfigurationWebhooks1764820000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "configurations" ADD "webhooks" jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`ALTER TABLE "configurations" ADD "webhook_secrets" jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "configurations" DROP COLUMN "webhook_secrets"`);
    await q.query(`ALTER TABLE "configurations" DROP COLUMN "webhooks"`);
  }
}

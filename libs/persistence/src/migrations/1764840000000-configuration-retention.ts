import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention beside keep_last (keep_daily, keep_weekly, keep_monthly, max_age_days; null = off)
 * and upload windows. Existing configurations keep today's behaviour: keepLast only, uploads
 * at any time.
 */
export class ConfigurationRetention1764840000000 implements MigrationInterface {
  name = 'ConfigurationRetention1764840000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE "configurations" ADD "keep_daily" integer, ADD "keep_weekly" integer, ADD "keep_monthly" integer, ADD "max_age_days" integer, ADD "upload_windows" jsonb NOT NULL DEFAULT '[]'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "configurations" DROP COLUMN "upload_windows", DROP COLUMN "max_age_days", DROP COLUMN "keep_monthly", DROP COLUMN "keep_weekly", DROP COLUMN "keep_daily"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * configurations.verify: how stored copies are checked (`afterUpload` size | sha256, optional
 * `schedule`). Existing configurations keep today's behaviour: size only, no schedule.
 */
export class ConfigurationVerify1764759600000 implements MigrationInterface {
  name = 'ConfigurationVerify1764759600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "configurations" ADD "verify" jsonb NOT NULL DEFAULT '{"afterUpload": "size"}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "configurations" DROP COLUMN "verify"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Runs of kind `safety`: the safety backup a `replace` restore takes is kept as a run. It has
 * no configuration (a restore from an upload has none), so `configuration_id` may be null; it
 * names its restore (`restore_id`, one safety run per restore), and the restore names it back.
 */
export class SafetyRuns1764800000000 implements MigrationInterface {
  name = 'SafetyRuns1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "runs" ALTER COLUMN "configuration_id" DROP NOT NULL`);
    await q.query(`ALTER TABLE "runs" ADD "restore_id" uuid`);
    await q.query(`CREATE UNIQUE INDEX "runs_restore_unique" ON "runs" ("restore_id") WHERE restore_id IS NOT NULL`);
    await q.query(`ALTER TABLE "restores" ADD "safety_run_id" uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "restores" DROP COLUMN "safety_run_id"`);
    await q.query(`DROP INDEX "runs_restore_unique"`);
    await q.query(`ALTER TABLE "runs" DROP COLUMN "restore_id"`);
    // Safety runs have no configuration: they go before the column is NOT NULL again.
    await q.query(`DELETE FROM "runs" WHERE "configuration_id" IS NULL`);
    await q.query(`ALTER TABLE "runs" ALTER COLUMN "configuration_id" SET NOT NULL`);
  }
}

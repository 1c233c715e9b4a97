import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * runs.delivered_at: every delivery of the run answered. The dispatcher sets it once and hands
 * an archive run to the archiver only then; before, it looked for its own 'archive.delivered'
 * in the messaging library's outbox. Backfilled from that outbox for archive runs, so one
 * waiting for deletion during the upgrade is not handed over twice, and from finished_at for
 * backups that reached delivery (the finalizer set both at once).
 */
export class RunDeliveredAt1764489600000 implements MigrationInterface {
  name = 'RunDeliveredAt1764489600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "runs" ADD "delivered_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(
      `UPDATE runs r SET delivered_at = o.first
         FROM (SELECT correlation_id, min(created_at) AS first FROM outbox WHERE type = 'archive.delivered' GROUP BY correlation_id) o
        WHERE r.kind = 'archive' AND o.correlation_id = r.id::text`,
    );
    await q.query(
      `UPDATE runs SET delivered_at = finished_at
        WHERE kind = 'backup' AND packed_at IS NOT NULL AND status IN ('succeeded', 'partially_failed', 'failed')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "runs" DROP COLUMN "delivered_at"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * deliveries.failing_since / next_attempt_at: a delivery owns its retries (the dispatcher
 * schedules the next attempt through the outbox instead of the transport's short retries).
 * failing_since starts its time budget (DELIVERY_RETRY_FOR_MS); next_attempt_at is when a
 * waiting delivery tries again, shown in the run report. Both NULL for existing rows.
 */
export class DeliveryRetrySchedule1764583200000 implements MigrationInterface {
  name = 'DeliveryRetrySchedule1764583200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "deliveries" ADD "failing_since" TIMESTAMP WITH TIME ZONE`);
    await q.query(`ALTER TABLE "deliveries" ADD "next_attempt_at" TIMESTAMP WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "deliveries" DROP COLUMN "next_attempt_at"`);
    await q.query(`ALTER TABLE "deliveries" DROP COLUMN "failing_since"`);
  }
}

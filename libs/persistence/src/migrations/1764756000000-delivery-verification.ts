import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * deliveries.verification / verified_at: the last read-back of the stored copy (verified,
 * mismatch, missing, notVerifiable or the destination's failure code) and when it was done.
 * NULL until a copy is first read back.
 */
export class DeliveryVerification1764756000000 implements MigrationInterface {
  name = 'DeliveryVerification1764756000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "deliveries" ADD "verification" character varying(32)`);
    await q.query(`ALTER TABLE "deliveries" ADD "verified_at" TIMESTAMP WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "deliveries" DROP COLUMN "verified_at"`);
    await q.query(`ALTER TABLE "deliveries" DROP COLUMN "verification"`);
  }
}

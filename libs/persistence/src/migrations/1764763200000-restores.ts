import type { MigrationInterface, QueryRunner } from 'typeorm';

/** restores: one row per POST /api/v1/restores, its progress and result; the sealed key is erased when final. */
export class Restores1764763200000 implements MigrationInterface {
  name = 'Restores1764763200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "restores" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "status" character varying(16) NOT NULL DEFAULT 'queued', "phase" character varying(16), "source" jsonb NOT NULL, "requested_sections" jsonb NOT NULL, "mode" character varying(8) NOT NULL, "preview" boolean NOT NULL DEFAULT false, "allow_other_pbx" boolean NOT NULL DEFAULT false, "key_sealed" text, "bytes_done" bigint NOT NULL DEFAULT '0', "bytes_total" bigint, "sections" jsonb NOT NULL DEFAULT '[]', "safety_backup" jsonb, "preview_result" jsonb, "error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_restores_id" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "restores_created_idx" ON "restores" ("created_at") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "restores_created_idx"`);
    await q.query(`DROP TABLE "restores"`);
  }
}

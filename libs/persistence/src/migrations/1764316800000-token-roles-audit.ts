import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Token roles and the audit trail (issue #15). Tokens made before roles existed could do
 * everything, so they become admin; new tokens always name their role.
 */
export class TokenRolesAudit1764316800000 implements MigrationInterface {
  name = 'TokenRolesAudit1764316800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_tokens" ADD "role" character varying(16) NOT NULL DEFAULT 'admin'`);
    await q.query(`ALTER TABLE "api_tokens" ALTER COLUMN "role" DROP DEFAULT`);
    await q.query(
      `CREATE TABLE "audit_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "token_id" uuid, "token_name" character varying(64) NOT NULL, "action" character varying(64) NOT NULL, "target_type" character varying(32), "target_id" character varying(128), "outcome" character varying(16) NOT NULL, "client_address" character varying(64), "detail" jsonb, CONSTRAINT "PK_audit_events_id" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "audit_events_at_idx" ON "audit_events" ("at") `);
    await q.query(`CREATE INDEX "audit_events_action_at_idx" ON "audit_events" ("action", "at") `);
    await q.query(`CREATE INDEX "audit_events_target_at_idx" ON "audit_events" ("target_id", "at") `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "audit_events"`);
    await q.query(`ALTER TABLE "api_tokens" DROP COLUMN "role"`);
  }
}

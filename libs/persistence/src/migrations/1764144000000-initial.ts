import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The first schema: configurations, destinations, runs, deliveries, outbox, inbox, dead letters, tokens, notifications. */
export class Initial1764144000000 implements MigrationInterface {
  name = 'Initial1764144000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "api_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" character varying(64) NOT NULL, "token_hash" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_c587455266b5fa8dace7194caac" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "api_tokens_hash_unique" ON "api_tokens"  ("token_hash") `);
    await q.query(`CREATE TABLE "destinations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "configuration_id" uuid NOT NULL, "position" integer NOT NULL, "type" character varying(16) NOT NULL, "settings" jsonb NOT NULL DEFAULT '{}', "secrets" jsonb NOT NULL DEFAULT '{}', "removed_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_69c5e8db964dcb83d3a0640f3c7" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "destinations_configuration_idx" ON "destinations"  ("configuration_id", "position") `);
    await q.query(`CREATE TABLE "configurations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "kind" character varying(16) NOT NULL, "name" character varying(64) NOT NULL, "name_key" character varying(64) NOT NULL, "report_to" character varying(320) NOT NULL, "interval" character varying(16) NOT NULL, "start_at" character varying(40), "timezone" character varying(64) NOT NULL, "data" jsonb NOT NULL, "keep_last" integer, "notify_on_success" boolean NOT NULL DEFAULT false, "language" character varying(2) NOT NULL DEFAULT 'en', "ephemeral" boolean NOT NULL DEFAULT false, "next_run_at" TIMESTAMP WITH TIME ZONE, "last_success_at" TIMESTAMP WITH TIME ZONE, "stale_alerted_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_ef9fc29709cc5fc66610fc6a664" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "configurations_next_run_idx" ON "configurations"  ("next_run_at") WHERE next_run_at IS NOT NULL AND deleted_at IS NULL`);
    await q.query(`CREATE UNIQUE INDEX "configurations_name_unique" ON "configurations"  ("kind", "name_key") WHERE deleted_at IS NULL AND ephemeral = false`);
    await q.query(`CREATE TABLE "dead_letters" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "queue" character varying(128) NOT NULL, "message_id" character varying(128) NOT NULL, "type" character varying(64), "routing_key" character varying(128), "correlation_id" character varying(64), "headers" jsonb NOT NULL DEFAULT '{}', "body" text NOT NULL, "reason" text NOT NULL, "attempts" integer NOT NULL DEFAULT '1', "first_failed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_failed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "replayed_at" TIMESTAMP WITH TIME ZONE, "replayed_by" character varying(128), "discarded_at" TIMESTAMP WITH TIME ZONE, "discarded_by" character varying(128), CONSTRAINT "PK_084e63809483fb0a9c48aae607f" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "dead_letters_correlation_idx" ON "dead_letters"  ("correlation_id") `);
    await q.query(`CREATE UNIQUE INDEX "dead_letters_queue_message_unique" ON "dead_letters"  ("queue", "message_id") `);
    await q.query(`CREATE TABLE "runs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "kind" character varying(16) NOT NULL, "configuration_id" uuid NOT NULL, "configuration_name" character varying(64) NOT NULL, "trigger" character varying(16) NOT NULL, "catch_up" boolean NOT NULL DEFAULT false, "status" character varying(20) NOT NULL, "scheduled_for" TIMESTAMP WITH TIME ZONE, "deferred_until" TIMESTAMP WITH TIME ZONE, "deferrals" jsonb NOT NULL DEFAULT '[]', "started_at" TIMESTAMP WITH TIME ZONE, "packed_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "artifact_file_name" character varying(200), "artifact_size" bigint, "artifact_sha256" character varying(64), "artifact_removed_at" TIMESTAMP WITH TIME ZONE, "progress" jsonb, "counts" jsonb, "snapshot" jsonb NOT NULL, "error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_46d6a1e257c38ba58f1a3c30836" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "runs_status_idx" ON "runs"  ("status", "created_at") `);
    await q.query(`CREATE INDEX "runs_configuration_idx" ON "runs"  ("configuration_id", "created_at") `);
    await q.query(`CREATE UNIQUE INDEX "runs_slot_unique" ON "runs"  ("configuration_id", "scheduled_for") WHERE scheduled_for IS NOT NULL`);
    await q.query(`CREATE TABLE "deliveries" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "run_id" uuid NOT NULL, "destination_id" uuid NOT NULL, "type" character varying(16) NOT NULL, "target" character varying(300) NOT NULL DEFAULT '', "status" character varying(16) NOT NULL DEFAULT 'pending', "code" character varying(32), "attempts" integer NOT NULL DEFAULT '0', "error" text, "location" character varying(500), "bytes_sent" bigint NOT NULL DEFAULT '0', "started_at" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "pruned_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_a6ef225c5c5f0974e503bfb731f" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "deliveries_retention_idx" ON "deliveries"  ("destination_id", "finished_at") WHERE status = 'succeeded' AND pruned_at IS NULL`);
    await q.query(`CREATE UNIQUE INDEX "deliveries_run_destination_unique" ON "deliveries"  ("run_id", "destination_id") `);
    await q.query(`CREATE TABLE "inbox" ("consumer" character varying(128) NOT NULL, "message_id" uuid NOT NULL, "processed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8902b2c18e35f1ba5a650a69c2f" PRIMARY KEY ("consumer", "message_id"))`);
    await q.query(`CREATE TABLE "notifications" ("subject_id" uuid NOT NULL, "kind" character varying(64) NOT NULL, "recipient" character varying(320) NOT NULL, "sent_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_e614e04502af8c7cacd4a596577" PRIMARY KEY ("subject_id", "kind"))`);
    await q.query(`CREATE TABLE "outbox" ("id" uuid NOT NULL, "type" character varying(64) NOT NULL, "version" integer NOT NULL, "routing_key" character varying(128) NOT NULL, "correlation_id" character varying(64) NOT NULL, "payload" jsonb NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "available_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "published_at" TIMESTAMP WITH TIME ZONE, "attempts" integer NOT NULL DEFAULT '0', "last_error" text, CONSTRAINT "PK_340ab539f309f03bdaa14aa7649" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "outbox_pending_idx" ON "outbox"  ("available_at") WHERE published_at IS NULL`);
    await q.query(`ALTER TABLE "destinations" ADD CONSTRAINT "FK_2e0b5d0e5fa087d85a07c327cc0" FOREIGN KEY ("configuration_id") REFERENCES "configurations"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await q.query(`ALTER TABLE "deliveries" ADD CONSTRAINT "FK_651be0e5bca18266a8128977089" FOREIGN KEY ("run_id") REFERENCES "runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "outbox" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "notifications" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "inbox" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "deliveries" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "runs" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "dead_letters" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "configurations" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "destinations" CASCADE`);
    await q.query(`DROP TABLE IF EXISTS "api_tokens" CASCADE`);
  }
}

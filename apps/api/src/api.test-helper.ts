import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { AppEnv } from '@pbx/config';
import { createLogger, type Logger } from '@pbx/observability';
import { amqpNamespace, deleteAmqpNamespace, migratedDatabase, tempDir, testEnv } from '@pbx/testing';
import { createApiApp } from './api-app';

/**
 * The in-process api the integration specs talk to over HTTP (real Postgres and RabbitMQ).
 * Tests only: production code may not import a *.test-helper (eslint.config.mjs).
 */

/** The admin bearer token of every api a spec file starts (random per file: jest gives each file its own modules). */
export const ADMIN_TOKEN = `admin-${randomUUID()}`;

export interface TestApi {
  app: INestApplication;
  /** http://127.0.0.1:<port> */
  base: string;
  ds: DataSource;
  schema: string;
  env: AppEnv;
  /** The temporary folder holding ARTIFACT_DIR (`artifacts/`) and LOCAL_BACKUP_ROOT (`backups/`). */
  dir: string;
  /** Stops the app, then removes what this call created (the namespace, the database unless given, the folder). */
  close(): Promise<void>;
}

export interface TestApiOptions {
  /** Run on this database (another api's, say: `{ db: api }`) instead of a fresh one; close() leaves it open. */
  db?: Pick<TestApi, 'ds' | 'schema'>;
  /** Default: a silent one. */
  logger?: Logger;
}

/**
 * Boots an api on a fresh migrated schema (named after `prefix`), its own AMQP namespace and a
 * temporary folder, listening on 127.0.0.1 at a free port. Defaults: ADMIN_TOKEN, a random
 * SECRETS_KEY, DEFAULT_TIMEZONE Europe/Berlin and the request limits lifted; `overrides` win
 * (a key set to undefined drops the default).
 */
export async function startTestApi(prefix: string, overrides: Record<string, string | number | boolean | undefined> = {}, options: TestApiOptions = {}): Promise<TestApi> {
  const db = options.db ? { ...options.db, close: async () => undefined } : await freshDatabase(prefix);
  const ns = amqpNamespace();
  const dirs = await tempDir(`pbx-${prefix}-`);
  const artifacts = join(dirs.path, 'artifacts');
  const backups = join(dirs.path, 'backups');
  await mkdir(artifacts, { recursive: true });
  await mkdir(backups, { recursive: true });
  const env = testEnv({
    DATABASE_SCHEMA: db.schema,
    AMQP_NAMESPACE: ns,
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    SECRETS_KEY: randomBytes(32).toString('hex'),
    ARTIFACT_DIR: artifacts,
    LOCAL_BACKUP_ROOT: backups,
    DEFAULT_TIMEZONE: 'Europe/Berlin',
    // Specs send many requests (and many refused ones) from one address and token; the limits
    // are tested where a spec sets them.
    AUTH_FAILURES_PER_MINUTE: 1_000_000,
    TOKEN_REQUESTS_PER_MINUTE: 1_000_000,
    ...overrides,
  });
  const app = await createApiApp(env, options.logger ?? createLogger({ service: 'api', level: 'silent' }));
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    base,
    ds: db.ds,
    schema: db.schema,
    env,
    dir: dirs.path,
    close: async () => {
      await app.close();
      await deleteAmqpNamespace(ns);
      await db.close();
      await dirs.remove();
    },
  };
}

async function freshDatabase(prefix: string): Promise<Pick<TestApi, 'ds' | 'schema'> & { close(): Promise<void> }> {
  const db = await migratedDatabase(prefix);
  return { ds: db.dataSource, schema: db.schema, close: db.close };
}

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureDatabaseExists } from '@pbx/persistence';

/** Connection URLs of the real servers the integration tiers use (overridable by env). */
export const testUrls = {
  database: process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx_backup_test',
  amqp: process.env.TEST_AMQP_URL ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  redis: process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};

/** A short unique token for names of schemas, queues, directories and lock keys. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Creates the test database if missing (tests may run on a fresh machine). */
export function ensureDatabase(url = testUrls.database): Promise<void> {
  return ensureDatabaseExists(url);
}

/** A fresh Postgres schema for one suite; `drop()` removes it with everything in it. */
export async function freshSchema(prefix = 't', url = testUrls.database): Promise<{ name: string; drop: () => Promise<void> }> {
  await ensureDatabase(url);
  const name = uniqueName(prefix).toLowerCase();
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE SCHEMA "${name}"`);
  await client.end();
  return {
    name,
    drop: async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      await c.end();
    },
  };
}

/** A temp directory for one test; `remove()` deletes it. */
export async function tempDir(prefix = 'pbx-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

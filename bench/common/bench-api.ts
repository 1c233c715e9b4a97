/**
 * What the benches against the built api share (bench/api, bench/ui): backup configurations
 * seeded into a scratch schema, the api started on it as its own process, and everything it
 * made removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { DLQ_SUFFIX, EXCHANGES, RETRY_SUFFIX, SUBSCRIPTIONS } from '@pbx/contracts';
import { migrateDatabase } from '@pbx/persistence';
import { benchRoot } from './bench-apps';

/** `count` daily backup configurations ('Bench 1' …), each with a local and an SFTP destination: one statement per table. */
export async function seedConfigurations(client: Client, count: number): Promise<void> {
  await client.query(
    `INSERT INTO configurations (kind, name, name_key, report_to, interval, start_at, timezone, data, keep_last, notify_on_success, language, next_run_at)
     SELECT 'backup', 'Bench ' || i, 'bench ' || i, 'ops@example.com', 'daily', '2026-12-01T02:30:00', 'Europe/Berlin',
            '{"coreData": true, "cdrAndVoicemails": true, "announcements": false}', 7, false, 'en', now() + (i || ' minutes')::interval
     FROM generate_series(1, ${count}) AS i`,
  );
  await client.query(
    `INSERT INTO destinations (configuration_id, position, type, settings, secrets)
     SELECT id, 0, 'local', '{"path": "bench"}'::jsonb, '{}'::jsonb FROM configurations
     UNION ALL
     SELECT id, 1, 'sftp', '{"host": "10.0.0.5", "port": 22, "username": "backup", "path": "/backups"}', '{"password": "v1.k1.sealed"}'::jsonb FROM configurations`,
  );
}

/** Removes the queues and exchanges an app declared under `namespace`. */
export async function deleteNamespace(amqpUrl: string, namespace: string): Promise<void> {
  const conn = await connect(amqpUrl);
  const ch = await conn.createChannel();
  for (const q of Object.keys(SUBSCRIPTIONS)) {
    for (const n of [q, q + DLQ_SUFFIX, ...Array.from({ length: 10 }, (_, i) => `${q}${RETRY_SUFFIX}${i + 1}`)]) await ch.deleteQueue(namespace + n);
  }
  for (const ex of Object.values(EXCHANGES)) await ch.deleteExchange(namespace + ex);
  await conn.close();
}

async function waitForHealth(url: string, api: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (api.exitCode !== null) throw new Error(`api exited with ${api.exitCode}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('api did not become healthy within 60 s');
}

/** The running api: its origin, the admin token it accepts, a connection to its schema, what `seed` returned. */
export interface BenchApi<T> {
  origin: string;
  token: string;
  client: Client;
  seeded: T;
}

/**
 * Runs `body` against the built api (dist/, NODE_ENV=production, LOG_LEVEL=warn) on a scratch
 * schema (`bench_<name>_…`, migrated, then `seed`) and broker namespace of its own, on
 * 127.0.0.1 with an admin token of its own; `env` on top of the process's. Afterwards: the api
 * stopped, the schema dropped, the namespace removed.
 */
export async function withBenchApi<T>(
  options: { name: string; databaseUrl: string; amqpUrl: string; env?: Record<string, string>; seed: (client: Client) => Promise<T> },
  body: (api: BenchApi<T>) => Promise<void>,
): Promise<void> {
  const { name, databaseUrl, amqpUrl } = options;
  const schema = `bench_${name}_${Date.now().toString(36)}`;
  const namespace = `bench-${name}-${randomBytes(3).toString('hex')}.`;
  const port = 30000 + Math.floor(Math.random() * 20000);
  const token = `bench-${randomBytes(16).toString('hex')}`;
  await migrateDatabase({ url: databaseUrl, schema });
  const client = new Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
  await client.connect();
  let api: ChildProcess | undefined;
  try {
    const seeded = await options.seed(client);
    api = spawn(process.execPath, [resolve(benchRoot, 'dist/apps/api/src/main.js')], {
      env: {
        ...process.env, DATABASE_URL: databaseUrl, AMQP_URL: amqpUrl, ...options.env,
        DATABASE_SCHEMA: schema, AMQP_NAMESPACE: namespace, PORT: String(port), HOST: '127.0.0.1', ADMIN_API_TOKEN: token, LOG_LEVEL: 'warn', NODE_ENV: 'production',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const origin = `http://127.0.0.1:${port}`;
    await waitForHealth(`${origin}/health`, api);
    await body({ origin, token, client, seeded });
  } finally {
    if (api && api.exitCode === null) {
      api.kill('SIGTERM');
      await new Promise((r) => api!.once('exit', r));
    }
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    await deleteNamespace(amqpUrl, namespace).catch(() => undefined);
  }
}

// Seeds ~500 configurations into a scratch schema, starts the built api as its own process and
// drives it with autocannon (a second process) for 10 s per endpoint: list and read.
//   npm run build && node dist/bench/api/api-bench.js
// Env: DATABASE_URL, AMQP_URL, REDIS_URL as usual; BENCH_SECONDS (10), BENCH_CONNECTIONS (20).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { DLQ_SUFFIX, EXCHANGES, RETRY_SUFFIX, SUBSCRIPTIONS } from '@pbx/contracts';
import { loadEnv } from '@pbx/config';
import { migrateDatabase } from '@pbx/persistence';

const ROOT = resolve(__dirname, '../../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const CONFIGURATIONS = 500;

interface Result {
  name: string;
  url: string;
  requestsPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function seed(client: Client): Promise<string> {
  // One statement per table: 500 configurations with two destinations each.
  await client.query(
    `INSERT INTO configurations (kind, name, name_key, report_to, interval, start_at, timezone, data, keep_last, notify_on_success, language, next_run_at)
     SELECT 'backup', 'Bench ' || i, 'bench ' || i, 'ops@example.com', 'daily', '2026-12-01T02:30:00', 'Europe/Berlin',
            '{"coreData": true, "cdrAndVoicemails": true, "announcements": false}', 7, false, 'en', now() + (i || ' minutes')::interval
     FROM generate_series(1, ${CONFIGURATIONS}) AS i`,
  );
  await client.query(
    `INSERT INTO destinations (configuration_id, position, type, settings, secrets)
     SELECT id, 0, 'local', '{"path": "bench"}'::jsonb, '{}'::jsonb FROM configurations
     UNION ALL
     SELECT id, 1, 'sftp', '{"host": "10.0.0.5", "port": 22, "username": "backup", "path": "/backups"}', '{"password": "v1.k1.sealed"}'::jsonb FROM configurations`,
  );
  const { rows } = await client.query<{ id: string }>(`SELECT id FROM configurations ORDER BY created_at OFFSET 250 LIMIT 1`);
  return rows[0].id;
}

async function waitForHealth(url: string, api: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (api.exitCode !== null) throw new Error(`api exited with ${api.exitCode}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('api did not become healthy within 60 s');
}

function autocannon(name: string, url: string, token: string): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(CONNECTIONS), '-d', String(SECONDS), '-H', `Authorization=Bearer ${token}`, url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const r = JSON.parse(out) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number };
      resolvePromise({ name, url, requestsPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors });
    });
  });
}

async function deleteNamespace(amqpUrl: string, namespace: string): Promise<void> {
  const conn = await connect(amqpUrl);
  const ch = await conn.createChannel();
  for (const q of Object.keys(SUBSCRIPTIONS)) {
    for (const n of [q, q + DLQ_SUFFIX, ...Array.from({ length: 10 }, (_, i) => `${q}${RETRY_SUFFIX}${i + 1}`)]) await ch.deleteQueue(namespace + n);
  }
  for (const ex of Object.values(EXCHANGES)) await ch.deleteExchange(namespace + ex);
  await conn.close();
}

async function main(): Promise<void> {
  const base = loadEnv(process.env);
  const schema = `bench_api_${Date.now().toString(36)}`;
  const namespace = `bench-api-${randomBytes(3).toString('hex')}.`;
  const port = 30000 + Math.floor(Math.random() * 20000);
  const token = `bench-${randomBytes(16).toString('hex')}`;
  await migrateDatabase({ url: base.DATABASE_URL, schema });
  const client = new Client({ connectionString: base.DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  let api: ChildProcess | undefined;
  try {
    const readId = await seed(client);
    api = spawn(process.execPath, [resolve(ROOT, 'dist/apps/api/src/main.js')], {
      env: { ...process.env, DATABASE_SCHEMA: schema, AMQP_NAMESPACE: namespace, PORT: String(port), HOST: '127.0.0.1', ADMIN_API_TOKEN: token, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const origin = `http://127.0.0.1:${port}`;
    await waitForHealth(`${origin}/health`, api);
    const results: Result[] = [];
    for (const [name, path] of [
      ['list (page of 20)', '/api/v1/backup-configurations?page=3&limit=20'],
      ['read one', `/api/v1/backup-configurations/${readId}`],
    ] as const) {
      results.push(await autocannon(name, origin + path, token));
    }
    console.log(`\n${CONFIGURATIONS} configurations, ${CONNECTIONS} connections, ${SECONDS} s each\n`);
    console.log('| endpoint | req/s | p50 ms | p99 ms | non-2xx | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) console.log(`| ${r.name} | ${Math.round(r.requestsPerSec)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`);
  } finally {
    if (api && api.exitCode === null) {
      api.kill('SIGTERM');
      await new Promise((r) => api!.once('exit', r));
    }
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    await deleteNamespace(base.AMQP_URL, namespace).catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// The admin UI's list of 500 backup configurations in chromium: seeds them (two destinations
// and one finished run each) into a scratch schema, starts the built api (which serves the
// built admin UI), signs in and measures, several times, from navigation to the 500th row
// laid out (performance.now() in the page, i.e. since navigation start), then the median.
//   npm run build && node dist/bench/ui/ui-bench.js
// Env: DATABASE_URL, AMQP_URL as usual; UI_BENCH_RUNS (7), UI_BENCH_CONFIGURATIONS (500).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'amqplib';
import { chromium } from 'playwright-core';
import { Client } from 'pg';
import { DLQ_SUFFIX, EXCHANGES, RETRY_SUFFIX, SUBSCRIPTIONS } from '@pbx/contracts';
import { migrateDatabase } from '@pbx/persistence';

const ROOT = resolve(__dirname, '../../..');
const RUNS = Number(process.env.UI_BENCH_RUNS ?? 7);
const CONFIGURATIONS = Number(process.env.UI_BENCH_CONFIGURATIONS ?? 500);
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx_backup_test';
const AMQP_URL = process.env.TEST_AMQP_URL ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

async function seed(client: Client): Promise<void> {
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
  // A last result for every row (lastRun in the list answer).
  await client.query(
    `INSERT INTO runs (kind, configuration_id, configuration_name, trigger, status, finished_at, snapshot)
     SELECT 'backup', id, name, 'schedule', CASE WHEN random() < 0.9 THEN 'succeeded' ELSE 'failed' END, now(), '{}'::jsonb FROM configurations`,
  );
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

/** The api declared its queues and exchanges under the namespace: remove them (as bench/api does). */
async function deleteNamespace(namespace: string): Promise<void> {
  const conn = await connect(AMQP_URL);
  const ch = await conn.createChannel();
  for (const q of Object.keys(SUBSCRIPTIONS)) {
    for (const n of [q, q + DLQ_SUFFIX, ...Array.from({ length: 10 }, (_, i) => `${q}${RETRY_SUFFIX}${i + 1}`)]) await ch.deleteQueue(namespace + n);
  }
  for (const ex of Object.values(EXCHANGES)) await ch.deleteExchange(namespace + ex);
  await conn.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const schema = `bench_ui_${Date.now().toString(36)}`;
  const namespace = `bench-ui-${randomBytes(3).toString('hex')}.`;
  const port = 30000 + Math.floor(Math.random() * 20000);
  const token = `bench-${randomBytes(16).toString('hex')}`;
  await migrateDatabase({ url: DATABASE_URL, schema });
  const client = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  const profile = mkdtempSync(join(tmpdir(), 'pbx-ui-bench-'));
  let api: ChildProcess | undefined;
  try {
    await seed(client);
    api = spawn(process.execPath, [resolve(ROOT, 'dist/apps/api/src/main.js')], {
      env: { ...process.env, DATABASE_URL, AMQP_URL, DATABASE_SCHEMA: schema, AMQP_NAMESPACE: namespace, PORT: String(port), HOST: '127.0.0.1', ADMIN_API_TOKEN: token, LOG_LEVEL: 'warn', NODE_ENV: 'production', SECRETS_KEY: randomBytes(32).toString('hex') },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const origin = `http://127.0.0.1:${port}`;
    await waitForHealth(`${origin}/health`, api);
    const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, locale: 'en-US', viewport: { width: 1280, height: 900 } });
    const page = context.pages()[0] ?? (await context.newPage());
    // Signed in as the UI does it: the token in this tab's sessionStorage.
    await page.goto(`${origin}/`);
    await page.evaluate((t) => (globalThis as unknown as { sessionStorage: { setItem(k: string, v: string): void } }).sessionStorage.setItem('pbx-admin-token', t), token);
    const times: number[] = [];
    const answered: number[] = [];
    // The first load fills the browser's cache like a returning admin's; it is reported, not counted.
    for (let i = 0; i <= RUNS; i += 1) {
      await page.goto(`${origin}/backups`, { waitUntil: 'commit' });
      const row = page.locator('[data-testid="configuration-row"]').nth(CONFIGURATIONS - 1);
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      const { ms, api, script } = await page.evaluate(() => {
        const perf = (globalThis as unknown as { performance: { now(): number; getEntriesByType(t: string): Array<{ name: string; responseEnd: number }> } }).performance;
        const entries = perf.getEntriesByType('resource');
        const end = (match: (n: string) => boolean) => Math.max(0, ...entries.filter((e) => match(e.name)).map((e) => e.responseEnd));
        return { ms: perf.now(), api: end((n) => n.includes('/api/v1/backup-configurations')), script: end((n) => n.endsWith('.js')) };
      });
      await row.scrollIntoViewIfNeeded();
      const rows = await page.locator('[data-testid="configuration-row"]').count();
      if (rows !== CONFIGURATIONS) throw new Error(`${rows} rows, expected ${CONFIGURATIONS}`);
      console.log(`${i === 0 ? 'cold ' : `run ${i}`}: ${Math.round(ms)} ms to row ${CONFIGURATIONS} (scripts loaded at ${Math.round(script)} ms, list answered at ${Math.round(api)} ms)`);
      if (i > 0) {
        times.push(ms);
        answered.push(api);
      }
    }
    await context.close();
    console.log(`\n${CONFIGURATIONS} configurations, ${RUNS} runs: median ${Math.round(median(times))} ms, min ${Math.round(Math.min(...times))} ms, max ${Math.round(Math.max(...times))} ms; the list's last answer at ${Math.round(median(answered))} ms (median), so rendering took ${Math.round(median(times.map((t, i) => t - answered[i])))} ms`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
    if (api && api.exitCode === null) {
      api.kill('SIGTERM');
      await new Promise((r) => api!.once('exit', r));
    }
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    await deleteNamespace(namespace).catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

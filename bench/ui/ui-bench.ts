// The admin UI's list of 500 backup configurations in chromium: seeds them (two destinations
// and one finished run each) into a scratch schema, starts the built api (which serves the
// built admin UI), signs in and measures, several times, from navigation to the 500th row
// laid out (performance.now() in the page, i.e. since navigation start), then the median.
//   npm run build && node dist/bench/ui/ui-bench.js
// Env: DATABASE_URL, AMQP_URL as usual; UI_BENCH_RUNS (7), UI_BENCH_CONFIGURATIONS (500).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Client } from 'pg';
import { urls } from '../common/bench-apps';
import { seedConfigurations, withBenchApi } from '../common/bench-api';

const RUNS = Number(process.env.UI_BENCH_RUNS ?? 7);
const CONFIGURATIONS = Number(process.env.UI_BENCH_CONFIGURATIONS ?? 500);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

async function seed(client: Client): Promise<void> {
  await seedConfigurations(client, CONFIGURATIONS);
  // A last result for every row (lastRun in the list answer).
  await client.query(
    `INSERT INTO runs (kind, configuration_id, configuration_name, trigger, status, finished_at, snapshot)
     SELECT 'backup', id, name, 'schedule', CASE WHEN random() < 0.9 THEN 'succeeded' ELSE 'failed' END, now(), '{}'::jsonb FROM configurations`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'pbx-ui-bench-'));
  const env = { SECRETS_KEY: randomBytes(32).toString('hex') };
  try {
    await withBenchApi({ name: 'ui', databaseUrl: urls.database, amqpUrl: urls.amqp, env, seed }, async ({ origin, token }) => {
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
    });
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

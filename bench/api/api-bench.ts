// Seeds ~500 configurations into a scratch schema, starts the built api as its own process and
// drives it with autocannon (a second process) for 10 s per endpoint: list and read.
//   npm run build && node dist/bench/api/api-bench.js
// Env: DATABASE_URL, AMQP_URL, REDIS_URL as usual; BENCH_SECONDS (10), BENCH_CONNECTIONS (20).
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Client } from 'pg';
import { loadEnv } from '@pbx/config';
import { benchRoot } from '../common/bench-apps';
import { seedConfigurations, withBenchApi } from '../common/bench-api';

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
  await seedConfigurations(client, CONFIGURATIONS);
  const { rows } = await client.query<{ id: string }>(`SELECT id FROM configurations ORDER BY created_at OFFSET 250 LIMIT 1`);
  return rows[0].id;
}

function autocannon(name: string, url: string, token: string): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [resolve(benchRoot, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(CONNECTIONS), '-d', String(SECONDS), '-H', `Authorization=Bearer ${token}`, url], {
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

async function main(): Promise<void> {
  const base = loadEnv(process.env);
  await withBenchApi({ name: 'api', databaseUrl: base.DATABASE_URL, amqpUrl: base.AMQP_URL, seed }, async ({ origin, token, seeded: readId }) => {
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
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * bench/e2e: POST …/:id/runs → run `succeeded`, for a core-data-only configuration to the
 * local disk, through the five apps as separate processes. Reports p50/p99 over N runs.
 *   npm run build && node dist/bench/e2e/e2e-bench.js [--runs 50]
 * Uses its own database schemas, AMQP namespace, lock key and directories; removes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { migrateDatabase } from '@pbx/persistence';
import { migratePbxSchema, seedPbx } from '@pbx/pbx-source';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 50;
const db = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx_backup_bench';
const tag = `bench_e2e_${Date.now().toString(36)}`;
const token = `bench-${randomBytes(12).toString('hex')}`;
const port = 3700 + Math.floor(Math.random() * 200);
const root = resolve(__dirname, '../../..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pbx-bench-e2e-'));
  const schema = tag;
  const pbxSchema = `${tag}_pbx`;
  await migrateDatabase({ url: db, schema });
  await migratePbxSchema({ databaseUrl: db, schema: pbxSchema });
  await seedPbx({ databaseUrl: db, schema: pbxSchema, dataDir: join(dir, 'pbx'), users: 200, cdr: 1000, voicemails: 2, announcements: 1, minAudioBytes: 100_000, maxAudioBytes: 100_000 });
  const env = {
    ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: db, DATABASE_SCHEMA: schema, PBX_DATABASE_URL: db, PBX_DATABASE_SCHEMA: pbxSchema,
    PBX_DATA_DIR: join(dir, 'pbx'), ARTIFACT_DIR: join(dir, 'artifacts'), LOCAL_BACKUP_ROOT: join(dir, 'backups'),
    AMQP_NAMESPACE: `${tag.replace(/_/g, '-')}.`, MAINTENANCE_LOCK_KEY: `${tag}:lock`, ADMIN_API_TOKEN: token, PORT: String(port),
  };
  const procs: ChildProcess[] = ['api', 'scheduler', 'packer', 'dispatcher', 'notifier'].map((app) =>
    spawn(process.execPath, [join(root, 'dist/apps', app, 'src/main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 300) throw new Error('api did not start');
      await sleep(100);
    }
    await sleep(1500); // let the workers finish booting (they have no port here)
    const { configuration } = await api<{ configuration: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name: `Bench ${tag}`, reportTo: 'ops@example.com', interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: false, announcements: false }, destinations: [{ type: 'local' }],
    });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const { run } = await api<{ run: { id: string } }>('POST', `/api/v1/backup-configurations/${configuration.id}/runs`);
      for (;;) {
        const r = await api<{ status: string }>('GET', `/api/v1/runs/${run.id}`);
        if (r.status === 'succeeded') break;
        if (r.status === 'failed' || r.status === 'partially_failed') throw new Error(`run ${run.id} ${r.status}`);
        await sleep(10);
      }
      times.push(performance.now() - t0);
    }
    const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
    console.log(`runs: ${runs}  p50: ${fmt(pct(times, 50))}  p99: ${fmt(pct(times, 99))}  min: ${fmt(Math.min(...times))}  max: ${fmt(Math.max(...times))}  load: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    procs.forEach((p) => p.kill('SIGTERM'));
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    const c = new Client({ connectionString: db });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.query(`DROP SCHEMA IF EXISTS "${pbxSchema}" CASCADE`);
    await c.end();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * bench/scheduler: N configurations due at the same instant, R scheduler processes.
 * Measures the time from the slot until the last due event is consumed from the queue,
 * and counts duplicates (runs per slot, events per run). See README.md.
 *
 *   npm run build && node dist/bench/scheduler/scheduler-bench.js [--configs 10000] [--replicas 3] [--lead-ms 8000] [--spread-ms 0]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { DLQ_SUFFIX, EXCHANGES, RETRY_SUFFIX, SUBSCRIPTIONS } from '@pbx/contracts';
import { migrateDatabase, scheduleChannel } from '@pbx/persistence';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const CONFIGS = Number(arg('configs') ?? 10_000);
const REPLICAS = Number(arg('replicas') ?? 3);
/** How far ahead of "now" the slot is put (boot of the replicas happens before). */
const LEAD_MS = Number(arg('lead-ms') ?? 8000);
/** 0: all at one instant (worst case); otherwise slots spread evenly over this many ms. */
const SPREAD_MS = Number(arg('spread-ms') ?? 0);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx_backup_bench';
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const tag = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const schema = `bench_sched_${tag}`;
const namespace = `bench-sched-${tag}.`;
const mainJs = resolve(__dirname, '../../apps/scheduler/src/main.js');

interface Replica {
  child: ChildProcess;
  emitted: number;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

function startReplica(i: number): Replica {
  const child = spawn(process.execPath, [mainJs], {
    env: { ...process.env, DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema, AMQP_URL: amqpUrl, AMQP_NAMESPACE: namespace, HEALTH_PORT: '0', LOG_LEVEL: process.env.BENCH_VERBOSE ? 'debug' : 'info', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const replica: Replica = {
    child,
    emitted: 0,
    ready: Promise.resolve(),
    exited: new Promise((r) => child.on('close', (code) => r(code))), // 'close': stdout fully read
  };
  replica.ready = new Promise((resolveReady, reject) => {
    child.on('exit', (code) => reject(new Error(`replica ${i} exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.includes('"scheduled run emitted"') || line.includes('"catch-up run emitted"')) replica.emitted++;
      else if (line.includes('scheduler ready')) resolveReady();
      else if (process.env.BENCH_VERBOSE && (line.includes('schedule batch committed') || line.includes('outbox'))) console.log(`[replica ${i}] ${Date.now() % 100000} ${line}`);
      else if (line.includes('"level":"error"') || line.includes('"level":"fatal"')) console.error(`[replica ${i}] ${line}`);
    });
  });
  return replica;
}

async function insertConfigurations(pg: Client, slot: Date): Promise<void> {
  const chunk = 1000;
  for (let from = 0; from < CONFIGS; from += chunk) {
    const n = Math.min(chunk, CONFIGS - from);
    const ids = Array.from({ length: n }, (_, k) => from + k);
    const slots = ids.map((i) => new Date(slot.getTime() + (SPREAD_MS ? Math.floor((i * SPREAD_MS) / CONFIGS) : 0)).toISOString());
    await pg.query(
      `INSERT INTO configurations (kind, name, name_key, report_to, interval, start_at, timezone, data, next_run_at)
       SELECT 'backup', 'bench-' || i, 'bench-' || i, 'ops@example.test', 'hourly', s, 'Europe/Berlin',
              '{"coreData":true,"cdrAndVoicemails":false,"announcements":false}'::jsonb, s::timestamptz
         FROM unnest($1::int[], $2::text[]) AS v(i, s)`,
      [ids, slots],
    );
  }
  // As the api does after a change: every scheduler recomputes its wake-up.
  await pg.query('SELECT pg_notify($1, $2)', [scheduleChannel(schema), '']);
}

async function deleteNamespace(): Promise<void> {
  const conn = await connect(amqpUrl);
  const ch = await conn.createChannel();
  for (const q of Object.keys(SUBSCRIPTIONS)) {
    const base = namespace + q;
    for (const name of [base, base + DLQ_SUFFIX, ...Array.from({ length: 10 }, (_, i) => `${base}${RETRY_SUFFIX}${i + 1}`)]) await ch.deleteQueue(name);
  }
  for (const ex of Object.values(EXCHANGES)) await ch.deleteExchange(namespace + ex);
  await conn.close();
}

async function main(): Promise<void> {
  console.log(`scheduler bench: ${CONFIGS} configurations, ${REPLICAS} replicas, schema ${schema}, namespace ${namespace}, spread ${SPREAD_MS} ms`);
  await migrateDatabase({ url: databaseUrl, schema });
  const pg = new Client({ connectionString: databaseUrl, options: `-c search_path="${schema}"` });
  await pg.connect();
  const replicas: Replica[] = [];
  try {
    const bootStarted = Date.now();
    for (let i = 0; i < REPLICAS; i++) replicas.push(startReplica(i));
    await Promise.all(replicas.map((r) => r.ready));
    console.log(`replicas ready after ${Date.now() - bootStarted} ms`);

    // The replicas declared the topology; consume what they publish.
    const conn = await connect(amqpUrl);
    const ch = await conn.createChannel();
    await ch.prefetch(1000);
    const perRun = new Map<string, number>();
    let lastConsumedAt = 0;
    let firstConsumedAt = 0;
    await ch.consume(`${namespace}packer.jobs.v1`, (msg) => {
      if (!msg) return;
      const runId = (JSON.parse(msg.content.toString('utf8')) as { payload: { runId: string } }).payload.runId;
      perRun.set(runId, (perRun.get(runId) ?? 0) + 1);
      ch.ack(msg);
      lastConsumedAt = Date.now();
      firstConsumedAt ||= lastConsumedAt;
    });

    const slot = new Date(Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000);
    const insertStarted = Date.now();
    await insertConfigurations(pg, slot);
    console.log(`inserted ${CONFIGS} configurations in ${Date.now() - insertStarted} ms; slot ${slot.toISOString()} in ${slot.getTime() - Date.now()} ms`);
    if (Date.now() >= slot.getTime()) throw new Error('insert took longer than --lead-ms; raise it');

    const lastSlot = slot.getTime() + (SPREAD_MS ? Math.floor(((CONFIGS - 1) * SPREAD_MS) / CONFIGS) : 0);
    const deadline = lastSlot + 120_000;
    while (perRun.size < CONFIGS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const [runStats] = (
      await pg.query<{ runs: string; slots: string; catch_up: string; first_created: Date; last_created: Date }>(
        `SELECT count(*) AS runs, count(DISTINCT (configuration_id, scheduled_for)) AS slots,
                count(*) FILTER (WHERE catch_up) AS catch_up, min(created_at) AS first_created, max(created_at) AS last_created FROM runs`,
      )
    ).rows;
    const [pending] = (await pg.query<{ n: string }>('SELECT count(*) AS n FROM configurations WHERE next_run_at <= now()')).rows;
    const duplicateEvents = [...perRun.values()].filter((n) => n > 1).length;
    const result = {
      configurations: CONFIGS,
      replicas: REPLICAS,
      runs: Number(runStats?.runs),
      duplicateRuns: Number(runStats?.runs) - Number(runStats?.slots),
      catchUpRuns: Number(runStats?.catch_up),
      eventsConsumed: [...perRun.values()].reduce((a, b) => a + b, 0),
      distinctRunsConsumed: perRun.size,
      duplicateEvents,
      stillDue: Number(pending?.n),
      firstRunCreatedAfterSlotMs: runStats ? new Date(runStats.first_created).getTime() - slot.getTime() : null,
      lastRunCreatedAfterLastSlotMs: runStats ? new Date(runStats.last_created).getTime() - lastSlot : null,
      firstEventConsumedAfterSlotMs: firstConsumedAt - slot.getTime(),
      lastEventConsumedAfterLastSlotMs: lastConsumedAt - lastSlot,
    };
    // Counted from the replicas' logs once they exited (every line read).
    for (const r of replicas) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => r.exited));
    console.log(JSON.stringify({ ...result, runsPerReplica: replicas.map((r) => r.emitted) }, null, 2));
    const ok = result.runs === CONFIGS && result.distinctRunsConsumed === CONFIGS && result.duplicateRuns === 0 && duplicateEvents === 0 && result.eventsConsumed === CONFIGS;
    console.log(ok ? 'OK: every slot emitted once, every event consumed once' : 'FAILED: missing or duplicate slots/events');
    process.exitCode = ok ? 0 : 1;
    await conn.close();
  } finally {
    for (const r of replicas) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => r.exited));
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg.end();
    await deleteNamespace().catch((err) => console.error('could not delete the AMQP namespace', err));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

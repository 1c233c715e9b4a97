/**
 * bench/messaging: outbox → relay → RabbitMQ → QueueConsumer (with inbox) against a raw
 * amqplib publish/consume baseline, plus end-to-end latency at a fixed rate. See README.md.
 *
 *   node <outDir>/bench/messaging/messaging-bench.js [--n 20000] [--prefetch 50] [--tx-rows 50]
 *        [--writers 8] [--rate 500] [--seconds 20] [--only raw,ours,latency] [--relays 1,3] [--modes pipeline,drain]
 *        [--relay-batch 500] [--relay-in-flight 2]
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connect, type ConsumeMessage } from 'amqplib';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { DLQ_SUFFIX, EXCHANGES, HEADERS, RETRY_SUFFIX, SUBSCRIPTIONS, type Envelope } from '@pbx/contracts';
import { AmqpConnection, createEnvelope, OutboxRelay, OutboxWriter, QueueConsumer, type MessagingOptions } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { createDataSource, migrateDatabase } from '@pbx/persistence';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('n') ?? 20_000);
/** Same prefetch for the raw consumer and QueueConsumer (the app default is 4; see README). */
const PREFETCH = Number(arg('prefetch') ?? 50);
const TX_ROWS = Number(arg('tx-rows') ?? 50);
/** Concurrent writer transactions (app requests writing at the same time). */
const WRITERS = Number(arg('writers') ?? 8);
const RATE = Number(arg('rate') ?? 500);
const SECONDS = Number(arg('seconds') ?? 20);
const RELAYS = (arg('relays') ?? '1,3').split(',').map(Number);
const ONLY = new Set((arg('only') ?? 'raw,ours,latency').split(','));
const MODES = (arg('modes') ?? 'pipeline,drain').split(',') as ('pipeline' | 'drain')[];
const CONFIRM_WINDOW = 500;
/** OutboxRelay batch size and passes in flight (undefined: the relay's defaults). */
const RELAY_BATCH = arg('relay-batch') ? Number(arg('relay-batch')) : undefined;
const RELAY_IN_FLIGHT = arg('relay-in-flight') ? Number(arg('relay-in-flight')) : undefined;
type Write = 'each' | 'many';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx_backup_bench';
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const tag = `${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
const schema = `bench_msg_${tag}`;
const namespace = `bench-msg-${tag}.`;
const rawQueue = `${namespace}raw.bench`;
const QUEUE = 'packer.jobs.v1' as const;
const logger = createLogger({ service: 'messaging-bench', level: 'warn' });

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dueEnvelope = (): Envelope<'backup.due'> => createEnvelope('backup.due', { runId: randomUUID(), kind: 'backup' }, randomUUID());

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects when `p` has not settled within ms (a stuck pipeline must not hang the bench). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** This process's CPU time (user+system) in ms: load-independent cost of the work done. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * CPU seconds used so far by the local RabbitMQ (beam.smp) and Postgres (the postmaster, the
 * backends it has reaped and the live ones), read from /proc: the bench process's own CPU
 * leaves out the two servers, which on a small machine share its cores. Undefined where
 * /proc does not show them (another host, not Linux).
 */
function serverCpuSeconds(): { broker: number; postgres: number } | undefined {
  try {
    const hz = 100; // USER_HZ on Linux
    const procs = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number); // f[0] is field 3 (state)
          return [{ pid: Number(pid), comm, ppid: f[1], own: f[11] + f[12], children: f[13] + f[14] }];
        } catch {
          return []; // exited meanwhile
        }
      });
    const beam = procs.filter((p) => p.comm === 'beam.smp');
    const postmaster = procs.find((p) => p.comm === 'postgres' && !procs.some((q) => q.pid === p.ppid && q.comm === 'postgres'));
    if (!beam.length || !postmaster) return undefined;
    const backends = procs.filter((p) => p.ppid === postmaster.pid);
    return {
      broker: beam.reduce((t, p) => t + p.own, 0) / hz,
      postgres: (postmaster.own + postmaster.children + backends.reduce((t, p) => t + p.own, 0)) / hz,
    };
  } catch {
    return undefined;
  }
}

/** " | broker X + postgres Y us/msg" since `before` (empty when unknown). */
function serverCpuPerMessage(before: ReturnType<typeof serverCpuSeconds>, n: number): string {
  const after = serverCpuSeconds();
  if (!before || !after) return '';
  const us = (s: number): string => ((1e6 * s) / n).toFixed(0);
  return ` | broker ${us(after.broker - before.broker)} + postgres ${us(after.postgres - before.postgres)} us/msg`;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------
// 1. Raw amqplib: confirm channel, persistent messages, durable queue, manual acks.

/**
 * `minimal`: straight to the queue through the default exchange, only persistent + messageId.
 * `same-topology`: what our publisher sends, without our code: a durable topic exchange,
 * the routing key, mandatory, and the same message properties and header.
 */
async function rawBaseline(variant: 'minimal' | 'same-topology'): Promise<number> {
  const pubConn = await connect(amqpUrl);
  const subConn = await connect(amqpUrl);
  const rawExchange = `${namespace}raw.events`;
  try {
    const pub = await pubConn.createConfirmChannel();
    await pub.assertQueue(rawQueue, { durable: true });
    if (variant === 'same-topology') {
      await pub.assertExchange(rawExchange, 'topic', { durable: true });
      await pub.bindQueue(rawQueue, rawExchange, 'backup.due.v1');
    }
    const sub = await subConn.createChannel();
    await sub.prefetch(PREFETCH);
    const envelopes = Array.from({ length: N }, () => dueEnvelope());
    const bodies = envelopes.map((e) => Buffer.from(JSON.stringify(e)));
    let received = 0;
    const done = deferred();
    let tLast = 0;
    await sub.consume(
      rawQueue,
      (msg: ConsumeMessage | null) => {
        if (!msg) return;
        // Parse like QueueConsumer does, so both sides pay for decoding.
        JSON.parse(msg.content.toString('utf8'));
        sub.ack(msg);
        if (++received === N) {
          tLast = performance.now();
          done.resolve();
        }
      },
      { noAck: false },
    );
    const s0 = serverCpuSeconds();
    const c0 = cpuMs();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      if (variant === 'minimal') pub.sendToQueue(rawQueue, bodies[i], { persistent: true, messageId: randomUUID(), contentType: 'application/json' });
      else {
        const e = envelopes[i];
        pub.publish(rawExchange, 'backup.due.v1', bodies[i], {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          messageId: e.messageId,
          type: e.type,
          correlationId: e.correlationId,
          timestamp: Math.floor(Date.parse(e.occurredAt) / 1000),
          headers: { [HEADERS.version]: e.version },
        });
      }
      if ((i + 1) % CONFIRM_WINDOW === 0) await pub.waitForConfirms();
    }
    await pub.waitForConfirms();
    const tPublished = performance.now();
    await within(done.promise, 120_000, 'raw consume');
    const rate = N / ((tLast - t0) / 1000);
    console.log(
      `raw amqplib (${variant}) N=${N} prefetch=${PREFETCH}: publish+confirm ${(N / ((tPublished - t0) / 1000)).toFixed(0)} msg/s, ` +
        `end-to-end ${rate.toFixed(0)} msg/s (${((tLast - t0) / 1000).toFixed(2)} s), cpu ${((1000 * (cpuMs() - c0)) / N).toFixed(0)} us/msg${serverCpuPerMessage(s0, N)}  load ${load()}`,
    );
    await pub.deleteQueue(rawQueue);
    if (variant === 'same-topology') await pub.deleteExchange(rawExchange);
    return rate;
  } finally {
    await pubConn.close().catch(() => undefined);
    await subConn.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// 2./3. Ours: OutboxWriter → OutboxRelay(s) → QueueConsumer with its inbox.

const messagingOptions: MessagingOptions = {
  amqpUrl,
  namespace,
  prefetch: PREFETCH,
  retry: { maxAttempts: 4, initialDelayMs: 2000 },
  databaseSchema: schema,
};

interface Pipeline {
  writerDs: DataSource;
  writer: OutboxWriter;
  /** messageId → performance.now() when the consumer's handler got it. */
  received: Map<string, number>;
  duplicates: number;
  allReceived: (n: number) => Promise<void>;
  /** Connects and starts the relays (their LISTEN comes up a moment later: see callers). */
  startRelays: () => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * One consumer process's worth (own connection + pool) and `relays` relay processes'
 * worth (each its own connection + pool), all in this process, as the apps wire them.
 */
async function startPipeline(relays: number, prefetch: number): Promise<Pipeline> {
  const reset = new Client({ connectionString: databaseUrl, options: `-c search_path="${schema}"` });
  await reset.connect();
  await reset.query('TRUNCATE outbox, inbox');
  await reset.end();

  const writerDs = createDataSource({ url: databaseUrl, schema, poolSize: Math.max(WRITERS, 10), applicationName: 'bench-writer' });
  const consumerDs = createDataSource({ url: databaseUrl, schema, poolSize: 10, applicationName: 'bench-consumer' });
  await Promise.all([writerDs.initialize(), consumerDs.initialize()]);
  const consumerAmqp = new AmqpConnection({ ...messagingOptions, prefetch }, logger);
  await consumerAmqp.waitForConnect();

  const received = new Map<string, number>();
  let target = Infinity;
  let waiter = deferred();
  const pipeline: Pipeline = {
    writerDs,
    writer: new OutboxWriter(schema),
    received,
    duplicates: 0,
    allReceived: (n) => {
      target = n;
      if (received.size >= n) waiter.resolve();
      return waiter.promise;
    },
    startRelays: async () => undefined,
    stop: async () => undefined,
  };
  const consumer = new QueueConsumer(
    consumerAmqp,
    {
      queue: QUEUE,
      prefetch,
      retry: messagingOptions.retry,
      dataSource: consumerDs,
      dispatch: async (env) => {
        if (received.has(env.messageId)) pipeline.duplicates++;
        else received.set(env.messageId, performance.now());
        if (received.size >= target) waiter.resolve();
      },
    },
    logger,
  );
  await consumer.start();

  const relayParts: { ds: DataSource; amqp: AmqpConnection; relay: OutboxRelay }[] = [];
  pipeline.startRelays = async () => {
    relayParts.push(
      ...(await Promise.all(
        Array.from({ length: relays }, async (_, i) => {
          const ds = createDataSource({ url: databaseUrl, schema, poolSize: 3, applicationName: `bench-relay-${i}` });
          await ds.initialize();
          const amqp = new AmqpConnection(messagingOptions, logger);
          await amqp.waitForConnect();
          return { ds, amqp, relay: new OutboxRelay(amqp, { databaseUrl, schema, batchSize: RELAY_BATCH, maxPassesInFlight: RELAY_IN_FLIGHT }, logger) };
        }),
      )),
    );
    for (const p of relayParts) p.relay.start();
  };

  pipeline.stop = async () => {
    await Promise.all(relayParts.map((p) => p.relay.stop()));
    await consumer.stop(5000);
    await Promise.all(relayParts.map(async (p) => {
      await p.amqp.close();
      await p.ds.destroy();
    }));
    await consumerAmqp.close();
    await Promise.all([writerDs.destroy(), consumerDs.destroy()]);
    waiter = deferred();
  };
  return pipeline;
}

/**
 * Writes N outbox rows in transactions of `txRows`, WRITERS transactions at a time: `each`
 * row with its own `enqueue` (an app emitting events one by one) or `many` at once with
 * `enqueueMany` (one multi-row INSERT, as the scheduler does).
 */
async function writeAll(p: Pipeline, txRows: number, write: Write): Promise<void> {
  const txs = Math.ceil(N / txRows);
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < txs) {
        const t = next++;
        const rows = Math.min(txRows, N - t * txRows);
        await p.writerDs.transaction(async (m) => {
          if (write === 'many') {
            await p.writer.enqueueMany(m, Array.from({ length: rows }, () => ({ type: 'backup.due' as const, payload: { runId: randomUUID(), kind: 'backup' as const }, correlationId: randomUUID() })));
            return;
          }
          for (let r = 0; r < rows; r++) await p.writer.enqueue(m, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: randomUUID() });
        });
      }
    }),
  );
}

/**
 * `pipeline`: writers and relays run together (end-to-end as the apps see it).
 * `drain`: the N rows are written first, then the relays start: relay + consumer capacity alone.
 */
async function throughput(mode: 'pipeline' | 'drain', relays: number, txRows: number, write: Write, raw: number | undefined): Promise<void> {
  const p = await startPipeline(relays, PREFETCH);
  try {
    if (mode === 'pipeline') {
      await p.startRelays();
      await sleep(500); // the relays' LISTEN connections come up before anything is written
    }
    const s0 = serverCpuSeconds();
    const c0 = cpuMs();
    const t0 = performance.now();
    await writeAll(p, txRows, write);
    const tWritten = performance.now();
    const cWritten = cpuMs();
    const sWritten = serverCpuSeconds();
    if (mode === 'drain') await p.startRelays();
    const tStart = mode === 'drain' ? performance.now() : t0;
    await within(p.allReceived(N), 300_000, 'outbox pipeline');
    const tLast = Math.max(...p.received.values());
    const rate = N / ((tLast - tStart) / 1000);
    const cpu =
      mode === 'drain'
        ? `cpu write ${((1000 * (cWritten - c0)) / N).toFixed(0)} + relay/consume ${((1000 * (cpuMs() - cWritten)) / N).toFixed(0)} us/msg${serverCpuPerMessage(sWritten, N)}`
        : `cpu ${((1000 * (cpuMs() - c0)) / N).toFixed(0)} us/msg${serverCpuPerMessage(s0, N)}`;
    console.log(
      `${mode.padEnd(8)} relays=${relays} tx=${String(txRows).padStart(2)} rows (${write}) N=${N} prefetch=${PREFETCH}: writes ${(N / ((tWritten - t0) / 1000)).toFixed(0)} rows/s, ` +
        `${mode === 'drain' ? 'relay→consumer' : 'end-to-end'} ${rate.toFixed(0)} msg/s (${((tLast - tStart) / 1000).toFixed(2)} s)${raw ? ` = ${(rate / raw).toFixed(2)}x raw` : ''}, ` +
        `${cpu}, duplicates ${p.duplicates}  load ${load()}`,
    );
  } finally {
    await p.stop();
  }
}

/** RATE single-row transactions per second for SECONDS, each started at its scheduled time. */
async function latency(relays: number): Promise<void> {
  const p = await startPipeline(relays, PREFETCH);
  try {
    await p.startRelays();
    await sleep(500);
    const total = RATE * SECONDS;
    const interval = 1000 / RATE;
    const committed = new Map<string, number>();
    const lags: number[] = [];
    const pending = new Set<Promise<void>>();
    let failures = 0;
    const t0 = performance.now() + 50;
    let i = 0;
    while (i < total) {
      const now = performance.now();
      while (i < total && t0 + i * interval <= now) {
        lags.push(now - (t0 + i * interval));
        const id = randomUUID();
        const tx = p.writerDs
          .transaction((m) => p.writer.enqueue(m, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: randomUUID(), messageId: id }))
          .then(
            () => void committed.set(id, performance.now()),
            () => void failures++,
          )
          .finally(() => pending.delete(tx));
        pending.add(tx);
        i++;
      }
      await sleep(Math.max(0, t0 + i * interval - performance.now()));
    }
    await Promise.all([...pending]);
    await within(p.allReceived(total - failures), 60_000, 'latency run');
    const lat = [...committed].map(([id, at]) => (p.received.get(id) ?? NaN) - at).sort((a, b) => a - b);
    lags.sort((a, b) => a - b);
    const f = (x: number): string => x.toFixed(1);
    console.log(
      `latency relays=${relays} ${RATE} msg/s x ${SECONDS} s (${committed.size} committed, ${failures} failed): ` +
        `p50 ${f(percentile(lat, 0.5))} ms, p90 ${f(percentile(lat, 0.9))} ms, p99 ${f(percentile(lat, 0.99))} ms, max ${f(lat[lat.length - 1])} ms; ` +
        `writer start lag p99 ${f(percentile(lags, 0.99))} ms, duplicates ${p.duplicates}  load ${load()}`,
    );
  } finally {
    await p.stop();
  }
}

// ---------------------------------------------------------------------------------------

/** As libs/testing's deleteAmqpNamespace (a bench does not import test helpers). */
async function deleteNamespace(): Promise<void> {
  const conn = await connect(amqpUrl);
  const ch = await conn.createChannel();
  try {
    for (const q of Object.keys(SUBSCRIPTIONS)) {
      const base = namespace + q;
      for (const n of [base, base + DLQ_SUFFIX, ...Array.from({ length: 10 }, (_, i) => `${base}${RETRY_SUFFIX}${i + 1}`)]) await ch.deleteQueue(n);
    }
    await ch.deleteQueue(rawQueue);
    for (const ex of Object.values(EXCHANGES)) await ch.deleteExchange(namespace + ex);
  } finally {
    await ch.close().catch(() => undefined);
    await conn.close();
  }
}

async function dropSchema(): Promise<void> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
}

async function main(): Promise<void> {
  console.log(`messaging bench: schema ${schema}, namespace ${namespace}, writers ${WRITERS}, load ${load()}`);
  await migrateDatabase({ url: databaseUrl, schema });
  try {
    // The ratios are against the same-topology baseline; the minimal one is shown for reference.
    if (ONLY.has('raw')) await rawBaseline('minimal');
    const raw = ONLY.has('raw') ? await rawBaseline('same-topology') : undefined;
    if (ONLY.has('ours')) {
      for (const relays of RELAYS) {
        for (const mode of MODES) {
          await throughput(mode, relays, TX_ROWS, 'many', raw);
          if (mode === 'pipeline') {
            await throughput(mode, relays, TX_ROWS, 'each', raw);
            await throughput(mode, relays, 1, 'each', raw);
          }
        }
      }
    }
    if (ONLY.has('latency')) for (const relays of RELAYS) await latency(relays);
  } finally {
    await deleteNamespace().catch((err) => console.error('namespace cleanup failed', err));
    await dropSchema().catch((err) => console.error('schema drop failed', err));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { HEADERS, type Envelope } from '@pbx/contracts';
import { createLogger } from '@pbx/observability';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, migratedDatabase, queueDepth, testUrls } from '@pbx/testing';
import { AmqpConnection } from './amqp-connection';
import { republishDeadLetter, DeadLetterRecorder } from './dead-letters';
import { createEnvelope } from './envelope';
import { PermanentMessageError, UnroutableMessageError } from './errors';
import { MessagePublisher } from './message-publisher';
import type { MessagingOptions } from './messaging-options';
import { OutboxRelay } from './outbox-relay';
import { INBOX_KEEP_DAYS, OUTBOX_KEEP_DAYS } from './outbox-retention';
import { OutboxWriter } from './outbox-writer';
import { QueueConsumer, type Dispatch } from './queue-consumer';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('messaging backbone (real RabbitMQ + Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let namespace: string;
  let options: MessagingOptions;
  let amqp: AmqpConnection;
  const consumers: QueueConsumer[] = [];

  beforeEach(async () => {
    db = await migratedDatabase('msg');
    namespace = amqpNamespace();
    options = {
      amqpUrl: testUrls.amqp,
      namespace,
      prefetch: 4,
      retry: { maxAttempts: 4, initialDelayMs: 100 },
      databaseSchema: db.schema,
    };
    amqp = new AmqpConnection(options, logger);
    await amqp.waitForConnect();
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop(1000)));
    await amqp.close();
    await deleteAmqpNamespace(namespace);
    await db.close();
  });

  function consume(dispatch: Dispatch, queue: 'packer.jobs.v1' | 'notifier.events.v1' = 'packer.jobs.v1'): QueueConsumer {
    const c = new QueueConsumer(amqp, { queue, prefetch: 4, retry: options.retry, dispatch, dataSource: db.dataSource }, logger);
    consumers.push(c);
    return c;
  }

  const due = (): Envelope<'backup.due'> => createEnvelope('backup.due', { runId: randomUUID(), kind: 'backup' }, randomUUID());

  it('delivers a published message to its consumer group once', async () => {
    const seen: string[] = [];
    await consume(async (e) => void seen.push(e.messageId)).start();
    const env = due();
    await new MessagePublisher(amqp).publish(env);
    await expectEventually(() => expect(seen).toEqual([env.messageId]));
  });

  it('retries a failing handler with growing delays, dead-letters after exactly N attempts, and a replay after the fix runs once', async () => {
    const attempts: number[] = [];
    let fixed = false;
    let effects = 0;
    await consume(async () => {
      attempts.push(Date.now());
      if (!fixed) throw new Error('disk on fire');
      effects++;
    }).start();
    const recorder = new DeadLetterRecorder(amqp, db.dataSource, logger);
    await recorder.start();
    const env = due();
    await new MessagePublisher(amqp).publish(env);

    const [row] = await expectEventually(async () => {
      const rows: { id: string; reason: string; attempts: number; queue: string; type: string; correlation_id: string; body: string; message_id: string }[] =
        await db.dataSource.query('SELECT * FROM dead_letters WHERE message_id = $1', [env.messageId]);
      return rows.length ? rows : null;
    });
    expect(attempts).toHaveLength(4);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
    // 100, 200, 400 ms nominal: each wait at least its delay and longer than the one before.
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    expect(gaps[2]).toBeGreaterThan(gaps[1]);
    expect(row).toMatchObject({ reason: 'disk on fire', attempts: 4, queue: 'packer.jobs.v1', type: 'backup.due', correlation_id: env.correlationId });

    fixed = true;
    await republishDeadLetter(amqp, { id: row.id, queue: row.queue, messageId: row.message_id, type: row.type, correlationId: row.correlation_id, body: row.body });
    await expectEventually(() => expect(effects).toBe(1));
    // A second copy of the same message id (a replay of a replay) has no further effect.
    await republishDeadLetter(amqp, { id: row.id, queue: row.queue, messageId: row.message_id, type: row.type, correlationId: row.correlation_id, body: row.body });
    await expectEventually(async () => expect(await queueDepth(namespace + 'packer.jobs.v1')).toBe(0));
    await expectEventually(async () => {
      const rows: unknown[] = await db.dataSource.query('SELECT 1 FROM inbox WHERE message_id = $1', [env.messageId]);
      expect(rows).toHaveLength(1);
    });
    expect(effects).toBe(1);
    await recorder.stop();
  });

  it('dead-letters a permanent failure, an invalid payload and an unknown type at once, never retrying', async () => {
    const calls: string[] = [];
    await consume(async (e) => {
      calls.push(e.messageId);
      throw new PermanentMessageError('bad credentials');
    }).start();
    const env = due();
    await new MessagePublisher(amqp).publish(env);
    const conn = await connect(testUrls.amqp);
    const ch = await conn.createConfirmChannel();
    const bad = { ...due(), payload: { runId: 'not-a-uuid', kind: 'backup' } };
    ch.publish(namespace + 'pbx.events.v1', 'backup.due.v1', Buffer.from(JSON.stringify(bad)), { messageId: bad.messageId, persistent: true });
    ch.sendToQueue(namespace + 'packer.jobs.v1', Buffer.from(JSON.stringify({ ...due(), type: 'no.such.type' })), { messageId: randomUUID() });
    ch.sendToQueue(namespace + 'packer.jobs.v1', Buffer.from('{not json'), { messageId: randomUUID() });
    await ch.waitForConfirms();
    await conn.close();
    await expectEventually(async () => expect(await queueDepth(namespace + 'packer.jobs.v1.dlq')).toBe(4));
    expect(calls).toEqual([env.messageId]);
    const recorder = new DeadLetterRecorder(amqp, db.dataSource, logger);
    await recorder.start();
    const rows = await expectEventually(async () => {
      const r: { reason: string; attempts: number }[] = await db.dataSource.query('SELECT reason, attempts FROM dead_letters ORDER BY reason');
      return r.length === 4 ? r : null;
    });
    expect(rows.map((r) => r.reason)).toEqual([
      'bad credentials',
      'body is not JSON',
      expect.stringContaining('invalid payload of "backup.due"'),
      expect.stringContaining('unknown message type "no.such.type"'),
    ]);
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    await recorder.stop();
  });

  it('rejects an unroutable publish and an invalid payload as visible errors', async () => {
    await expect(amqp.publish(amqp.names.events, 'no.such.key.v1', Buffer.from('{}'), { messageId: randomUUID() })).rejects.toBeInstanceOf(UnroutableMessageError);
    expect(() => createEnvelope('backup.due', { runId: 'nope', kind: 'backup' }, 'x')).toThrow(/invalid payload/);
  });

  it('outbox: events commit with the change, the relay publishes each once even with three relays', async () => {
    const writer = new OutboxWriter(db.schema);
    const seen = new Map<string, number>();
    await consume(async (e) => void seen.set(e.messageId, (seen.get(e.messageId) ?? 0) + 1)).start();
    const relays = [0, 1, 2].map(() => new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema, batchSize: 20 }, logger));
    relays.forEach((r) => r.start());
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      await db.dataSource.transaction(async (tx) => {
        ids.push(await writer.enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: randomUUID() }));
      });
    }
    // A rolled-back transaction leaves no event.
    await db.dataSource
      .transaction(async (tx) => {
        await writer.enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: 'rolled-back' });
        throw new Error('rollback');
      })
      .catch(() => undefined);
    await expectEventually(() => expect(seen.size).toBe(100), { timeoutMs: 20_000 });
    await Promise.all(relays.map((r) => r.stop()));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    const [{ pending }] = await db.dataSource.query('SELECT count(*)::int AS pending FROM outbox WHERE published_at IS NULL');
    expect(pending).toBe(0);
  });

  it('outbox: one relay listens for NOTIFY; when it stops, another takes over and new events still go out at once', async () => {
    const writer = new OutboxWriter(db.schema);
    const seen = new Map<string, number>();
    await consume(async (e) => void seen.set(e.messageId, Date.now())).start();
    // A poll interval far longer than the test: only a NOTIFY can get these rows out quickly.
    const relays = [0, 1].map(() => new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema, pollMs: 120_000 }, logger));
    relays.forEach((r) => r.start());
    try {
      const listener = await expectEventually(() => relays.find((r) => r.isListener) ?? null);
      await expectEventually(() => expect(relays.filter((r) => r.isListener)).toHaveLength(1));
      const write = () => db.dataSource.transaction((tx) => writer.enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: 'l' }));
      const first = await write();
      await expectEventually(() => seen.has(first), { timeoutMs: 5_000 });

      await listener.stop();
      const other = relays.find((r) => r !== listener)!;
      await expectEventually(() => other.isListener, { timeoutMs: 10_000 });
      const second = await write();
      await expectEventually(() => seen.has(second), { timeoutMs: 5_000 });
      expect(seen.size).toBe(2);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });

  it('outbox: enqueueMany commits its events with the transaction, and its NOTIFY gets them out at once', async () => {
    const writer = new OutboxWriter(db.schema);
    const seen = new Set<string>();
    await consume(async (e) => void seen.add(e.messageId)).start();
    // Only a NOTIFY can get rows out within the test: the poll is two minutes.
    const relay = new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema, pollMs: 120_000 }, logger);
    relay.start();
    try {
      await expectEventually(() => relay.isListener);
      const item = () => ({ type: 'backup.due' as const, payload: { runId: randomUUID(), kind: 'backup' as const }, correlationId: 'many' });
      let rolledBack: string[] = [];
      await expect(
        db.dataSource.transaction(async (tx) => {
          rolledBack = await writer.enqueueMany(tx, [item(), item()]);
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      const ids = await db.dataSource.transaction((tx) => writer.enqueueMany(tx, [item(), item(), item()]));
      await expectEventually(() => expect([...seen].sort()).toEqual([...ids].sort()), { timeoutMs: 5_000 });
      const rows: unknown[] = await db.dataSource.query('SELECT 1 FROM outbox WHERE id = ANY($1::uuid[])', [rolledBack]);
      expect(rows).toHaveLength(0);
    } finally {
      await relay.stop();
    }
  });

  it('outbox: a relay that cannot reach the broker does not take the listener role', async () => {
    const writer = new OutboxWriter(db.schema);
    const seen = new Set<string>();
    await consume(async (e) => void seen.add(e.messageId)).start();
    // Nothing listens on port 1: this relay's broker connection never comes up.
    const cutOff = new AmqpConnection({ ...options, amqpUrl: 'amqp://guest:guest@127.0.0.1:1' }, logger);
    const stranded = new OutboxRelay(cutOff, { databaseUrl: db.url, schema: db.schema, pollMs: 120_000 }, logger);
    stranded.start();
    const healthy = new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema, pollMs: 120_000 }, logger);
    try {
      healthy.start();
      await expectEventually(() => healthy.isListener, { timeoutMs: 10_000 });
      expect(stranded.isListener).toBe(false);
      const id = await db.dataSource.transaction((tx) => writer.enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: 'b' }));
      await expectEventually(() => seen.has(id), { timeoutMs: 5_000 });
    } finally {
      await Promise.all([stranded.stop(), healthy.stop()]);
      await cutOff.close();
    }
  });

  it('two copies of one message in hand at once (a republish) take effect once', async () => {
    const effects: string[] = [];
    const publisher = new MessagePublisher(amqp);
    const env = due();
    // Both copies are in the queue before the consumer starts, so they arrive together and
    // the inbox cannot tell the second apart until the first is recorded.
    await publisher.publish(env);
    await publisher.publish(env);
    await publisher.publish(due()); // a different message still takes effect
    await consume(async (e) => {
      effects.push(e.messageId);
      await new Promise((r) => setImmediate(r)); // a handler that yields, as real ones do
    }).start();
    // Done when both ids are recorded and nothing waits in the queue; a second effect of the
    // duplicate would have happened before its twin's record.
    await expectEventually(async () => {
      const recorded: unknown[] = await db.dataSource.query('SELECT 1 FROM inbox WHERE message_id = ANY($1::uuid[])', [[...new Set(effects)]]);
      return effects.length >= 2 && recorded.length === new Set(effects).size && (await queueDepth(`${namespace}packer.jobs.v1`)) === 0;
    });
    expect(effects.filter((id) => id === env.messageId)).toHaveLength(1);
    expect(effects).toHaveLength(2);
  });

  it('outbox: a held-back event is published when it becomes available, not before', async () => {
    const writer = new OutboxWriter(db.schema);
    const seen: number[] = [];
    await consume(async () => void seen.push(Date.now())).start();
    const relay = new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema, pollMs: 200 }, logger);
    relay.start();
    const availableAt = new Date(Date.now() + 1500);
    await db.dataSource.transaction((tx) => writer.enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: 'x', availableAt }));
    await expectEventually(() => expect(seen).toHaveLength(1), { timeoutMs: 10_000 });
    expect(seen[0]).toBeGreaterThanOrEqual(availableAt.getTime() - 50);
    await relay.stop();
  });

  it('prunes published outbox rows after a week and inbox records after a month, nothing newer and nothing unpublished', async () => {
    const old = (days: number) => new Date(Date.now() - days * 86_400_000 - 60_000).toISOString();
    const ids = { oldSent: randomUUID(), newSent: randomUUID(), oldPending: randomUUID(), oldInbox: randomUUID(), newInbox: randomUUID() };
    const row = (id: string, publishedAt: string | null, createdAt: string) =>
      db.dataSource.query(
        `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, created_at, available_at, published_at)
         VALUES ($1, 'backup.due', 1, 'backup.due.v1', 'c', '{}', $3, now() + interval '1 day', $2)`,
        [id, publishedAt, createdAt],
      );
    await row(ids.oldSent, old(OUTBOX_KEEP_DAYS), old(OUTBOX_KEEP_DAYS));
    await row(ids.newSent, old(OUTBOX_KEEP_DAYS - 1), old(OUTBOX_KEEP_DAYS));
    await row(ids.oldPending, null, old(OUTBOX_KEEP_DAYS * 2)); // never published: must stay
    await db.dataSource.query(`INSERT INTO inbox (consumer, message_id, processed_at) VALUES ('q', $1, $2), ('q', $3, $4)`, [
      ids.oldInbox, old(INBOX_KEEP_DAYS), ids.newInbox, old(INBOX_KEEP_DAYS - 1),
    ]);
    const relay = new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema }, logger);
    try {
      expect(await relay.prune()).toEqual({ outbox: 1, inbox: 1 });
    } finally {
      await relay.stop();
    }
    const outbox: { id: string }[] = await db.dataSource.query('SELECT id FROM outbox WHERE id = ANY($1::uuid[])', [Object.values(ids)]);
    expect(outbox.map((r) => r.id).sort()).toEqual([ids.newSent, ids.oldPending].sort());
    const inbox: { message_id: string }[] = await db.dataSource.query('SELECT message_id FROM inbox WHERE message_id = ANY($1::uuid[])', [Object.values(ids)]);
    expect(inbox.map((r) => r.message_id)).toEqual([ids.newInbox]);
  });

  it('reconnects consumers and the relay after the broker closes every connection; nothing is lost', async () => {
    const writer = new OutboxWriter(db.schema);
    const seen = new Set<string>();
    await consume(async (e) => void seen.add(e.messageId)).start();
    const relay = new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema, pollMs: 200 }, logger);
    relay.start();
    const ids: string[] = [];
    const enqueue = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await db.dataSource.transaction(async (tx) => ids.push(await writer.enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: 'c' })));
      }
    };
    await enqueue(20);
    await expectEventually(() => expect(seen.size).toBe(20));
    const { execFileSync } = await import('node:child_process');
    execFileSync('rabbitmqctl', ['close_all_connections', 'test: cut the broker connection'], { stdio: 'ignore' });
    await enqueue(30);
    await expectEventually(() => expect(seen.size).toBe(50), { timeoutMs: 30_000 });
    expect([...seen].sort()).toEqual([...ids].sort());
    await relay.stop();
  });

  it('a channel whose setup fails is logged, not an unhandled error that would crash the process', async () => {
    const lines: string[] = [];
    const watched = new AmqpConnection(options, createLogger({ service: 'test', level: 'warn', destination: { write: (l: string) => void lines.push(l) } }));
    let attempts = 0;
    const channel = watched.createChannel('flaky-setup', async () => {
      // Not an IllegalOperationError: the wrapper reports it with an 'error' event.
      if (++attempts === 1) throw new Error('setup failed once');
    });
    try {
      await expectEventually(() => lines.some((l) => l.includes('RabbitMQ channel setup failed') && l.includes('setup failed once')));
      expect(attempts).toBe(1);
    } finally {
      await channel.close();
      await watched.close();
    }
  });

  it('carries the failure headers into the dead letter', async () => {
    await consume(async () => {
      throw new PermanentMessageError('nope');
    }).start();
    await new MessagePublisher(amqp).publish(due());
    const conn = await connect(testUrls.amqp);
    const ch = await conn.createChannel();
    const msg = await expectEventually(async () => (await ch.get(namespace + 'packer.jobs.v1.dlq')) || null);
    await conn.close();
    expect(msg.properties.headers?.[HEADERS.deadReason]).toBe('nope');
    expect(msg.properties.headers?.[HEADERS.deadRoutingKey]).toBe('backup.due.v1');
    expect(String(msg.properties.headers?.[HEADERS.deadStack])).toContain('PermanentMessageError');
  });
});

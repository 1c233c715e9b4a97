import { Client, Pool, type PoolClient, type QueryResult } from 'pg';
import type { EntityManager } from 'typeorm';
import { MESSAGES, type MessageType, type PayloadOf } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import type { AmqpConnection } from './amqp-connection';
import { createEnvelope } from './envelope';
import { MessagePublisher } from './message-publisher';

/** The NOTIFY channel of one schema's outbox (schemas isolate tests and installs). */
export function outboxChannel(schema: string): string {
  return `pbx_outbox_${schema}`;
}

export interface EnqueueOptions {
  correlationId: string;
  /** Hold the message back until then (a deferred run). */
  availableAt?: Date;
  messageId?: string;
}

/** Writes events in the caller's transaction; the relay publishes them after commit. */
export class OutboxWriter {
  constructor(private readonly schema: string) {}

  async enqueue<T extends MessageType>(manager: EntityManager, type: T, payload: PayloadOf<T>, opts: EnqueueOptions): Promise<string> {
    const env = createEnvelope(type, payload, opts.correlationId, opts.messageId);
    // The NOTIFY rides on the INSERT (one round trip, not two; bench/messaging). It is
    // delivered at commit, so the relay wakes exactly when the row becomes visible.
    await manager.query(
      `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, created_at, available_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING pg_notify($9, '')`,
      [env.messageId, type, env.version, MESSAGES[type].routingKey, env.correlationId, JSON.stringify(env.payload), env.occurredAt, (opts.availableAt ?? new Date()).toISOString(), outboxChannel(this.schema)],
    );
    return env.messageId;
  }

  /**
   * `enqueue` for many events: one multi-row INSERT and one NOTIFY (the scheduler's bulk
   * run creation). Every payload is validated before anything is written.
   */
  async enqueueMany(
    manager: EntityManager,
    items: readonly { [T in MessageType]: { type: T; payload: PayloadOf<T>; correlationId: string; availableAt?: Date } }[MessageType][],
  ): Promise<string[]> {
    if (!items.length) return [];
    const now = new Date().toISOString();
    const rows = items.map((item) => {
      const env = createEnvelope<MessageType>(item.type, item.payload, item.correlationId);
      return {
        id: env.messageId,
        type: env.type,
        version: env.version,
        routing_key: MESSAGES[env.type].routingKey,
        correlation_id: env.correlationId,
        payload: env.payload,
        created_at: env.occurredAt,
        available_at: item.availableAt ? item.availableAt.toISOString() : now,
      };
    });
    // One jsonb parameter instead of 8 per row: no bind-parameter limit on the batch size.
    // The NOTIFY rides on the same statement, as in enqueue.
    await manager.query(
      `WITH inserted AS (
         INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, created_at, available_at)
         SELECT r.id, r.type, r.version, r.routing_key, r.correlation_id, r.payload, r.created_at, r.available_at
           FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, type varchar, version integer, routing_key varchar, correlation_id varchar,
                                                   payload jsonb, created_at timestamptz, available_at timestamptz))
       SELECT pg_notify($2, '')`,
      [JSON.stringify(rows), outboxChannel(this.schema)],
    );
    return rows.map((r) => r.id);
  }
}

interface OutboxRow {
  id: string;
  type: MessageType;
  version: number;
  correlation_id: string;
  payload: unknown;
  created_at: Date;
  attempts: number;
}

export interface OutboxRelayOptions {
  databaseUrl: string;
  schema: string;
  batchSize?: number;
  /** Fallback poll when no NOTIFY arrives (and for rows held back until later). */
  pollMs?: number;
  /** Passes publishing at the same time (the next batch is claimed while one awaits confirms). */
  maxPassesInFlight?: number;
  /** How often published outbox rows and old inbox records are deleted (0: never). */
  pruneEveryMs?: number;
}

/**
 * Published events are kept a week for ops to look at; inbox records a month. A duplicate
 * arrives within minutes (a relay's lost claim or mark); a replayed dead letter was never
 * recorded as handled, so neither needs the records for longer.
 */
export const OUTBOX_KEEP_DAYS = 7;
export const INBOX_KEEP_DAYS = 30;
const PRUNE_BATCH = 5000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How often a relay that does not listen tries to become the listener. */
const LISTENER_RETRY_MS = 2000;

/**
 * Settings of the relay's own sessions. `synchronous_commit = off`: see OutboxRelay.
 * `enable_bitmapscan = off`: while the outbox has outgrown its statistics (a backlog built
 * up during a broker outage, a fresh install), Postgres planned the claim as a bitmap scan
 * of every pending row, sorted, then the LIMIT: 5 ms per pass at 10,000 pending, 34 ms at
 * 50,000, so draining a backlog grew quadratically. Without bitmap scans it walks the
 * partial index in order and stops at the batch (about 0.5 ms at any backlog). The relay's
 * other statements look rows up by id or scan old rows, which need no bitmap scans either.
 */
export function relaySessionOptions(schema: string): string {
  return `-c search_path="${schema}" -c synchronous_commit=off -c enable_bitmapscan=off`;
}

/** The claim of one pass: the due rows, those due longest first, locked against other relays. */
export function claimSql(batchSize: number): string {
  return `SELECT id, type, version, correlation_id, payload, created_at, attempts FROM outbox
          WHERE published_at IS NULL AND available_at <= now()
          ORDER BY available_at LIMIT ${Math.floor(batchSize)} FOR UPDATE SKIP LOCKED`;
}

/**
 * Publishes outbox rows with confirms and marks them sent. Any number of relays may run: a
 * pass claims rows in a transaction (`FOR UPDATE SKIP LOCKED`), publishes them, marks them
 * sent and commits, so no two relays publish the same row; a relay that dies mid-pass rolls
 * back and its rows are free again at once. A crash between publish and commit can publish a
 * row twice; consumers dedupe by message id. While one pass awaits its confirms the next one
 * claims the following rows.
 *
 * The relay's own connections run with `synchronous_commit = off`: losing a "sent" mark in a
 * Postgres crash only republishes rows (at-least-once, deduped), and not waiting for a WAL
 * flush per pass keeps latency low. Nothing else runs on them.
 */
export class OutboxRelay {
  private readonly publisher: MessagePublisher;
  private readonly pool: Pool;
  private listener?: Client;
  private running = false;
  private readonly sleepers = new Set<() => void>();
  /** A NOTIFY that arrived while we were busy: the next sleep returns at once. */
  private woken = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly maxInFlight: number;
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly options: OutboxRelayOptions,
    private readonly logger: Logger,
  ) {
    this.publisher = new MessagePublisher(connection);
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? 500));
    this.pollMs = options.pollMs ?? 1000;
    this.maxInFlight = Math.max(1, options.maxPassesInFlight ?? 2);
    this.pool = new Pool({
      connectionString: options.databaseUrl,
      max: this.maxInFlight + 1,
      application_name: 'pbx-backup-outbox-relay',
      options: relaySessionOptions(options.schema),
    });
    // An idle client's error (e.g. Postgres restarting) must not crash the process; the next query reconnects.
    this.pool.on('error', (err) => this.logger.warn({ err: err.message }, 'outbox relay connection lost'));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.listen();
    this.loop = this.run();
    const every = this.options.pruneEveryMs ?? 3_600_000;
    if (every > 0) {
      const prune = (): void => {
        this.prune().catch((err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : err }, 'pruning outbox/inbox failed; next try later'));
      };
      this.pruneTimer = setInterval(prune, every);
      this.pruneTimer.unref();
    }
  }

  /**
   * Deletes published outbox rows older than OUTBOX_KEEP_DAYS and inbox records older than
   * INBOX_KEEP_DAYS, in batches (short locks), so neither table grows without bound. Every
   * relay does it; running it twice at once only finds less to delete.
   */
  async prune(): Promise<{ outbox: number; inbox: number }> {
    const deleted = {
      outbox: await this.deleteInBatches(
        `DELETE FROM outbox WHERE id = ANY(ARRAY(
           SELECT id FROM outbox WHERE published_at < now() - make_interval(days => $1) LIMIT $2))`,
        OUTBOX_KEEP_DAYS,
      ),
      inbox: await this.deleteInBatches(
        `DELETE FROM inbox WHERE (consumer, message_id) IN (
           SELECT consumer, message_id FROM inbox WHERE processed_at < now() - make_interval(days => $1) LIMIT $2)`,
        INBOX_KEEP_DAYS,
      ),
    };
    if (deleted.outbox || deleted.inbox) this.logger.info(deleted, 'pruned published outbox rows and old inbox records');
    return deleted;
  }

  /** Runs `sql` ($1 = days, $2 = batch size) until a batch deletes less than a full batch. */
  private async deleteInBatches(sql: string, days: number): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(sql, [days, PRUNE_BATCH]);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH) return total;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.running = false;
    this.wakeAll();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    await this.listener?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  /**
   * Claims up to batchSize due rows (those due longest first) in a transaction of its own and
   * resolves once they are claimed; `done` settles when they are published and marked.
   * Ordered by available_at, the partial index outbox_pending_idx yields the batch without
   * sorting the backlog (ordering by created_at took 10-50 ms at 20,000 pending rows).
   */
  private async startPass(): Promise<{ count: number; done: Promise<number> } | null> {
    const client = await this.pool.connect();
    let rows: OutboxRow[];
    try {
      // BEGIN and the claim in one round trip (a simple-protocol query may hold several
      // statements, but no parameters: the limit is our own integer).
      const results = (await client.query(`BEGIN; ${claimSql(this.batchSize)}`)) as unknown as QueryResult<OutboxRow>[];
      rows = results[1].rows;
      if (!rows.length) {
        await client.query('COMMIT');
        client.release();
        return null;
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw err;
    }
    const done = this.publishAndMark(client, rows).then(
      async (sent) => {
        client.release();
        return sent;
      },
      async (err: unknown) => {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(true);
        throw err;
      },
    );
    return { count: rows.length, done };
  }

  private async publishAndMark(client: PoolClient, rows: OutboxRow[]): Promise<number> {
    rows.sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
    const results = await Promise.allSettled(
      rows.map((r) =>
        this.publisher.publish({
          messageId: r.id,
          type: r.type,
          version: r.version,
          occurredAt: new Date(r.created_at).toISOString(),
          correlationId: r.correlation_id,
          payload: r.payload as PayloadOf<MessageType>,
        }),
      ),
    );
    const sent = rows.filter((_, i) => results[i].status === 'fulfilled').map((r) => r.id);
    if (sent.length === rows.length) {
      // The usual case: mark and commit in one round trip. The ids are uuids Postgres just
      // returned (checked anyway), so they can be written into the statement.
      if (!sent.every((id) => UUID.test(id))) throw new Error('outbox id is not a uuid');
      await client.query(`UPDATE outbox SET published_at = now() WHERE id = ANY('{${sent.join(',')}}'::uuid[]); COMMIT`);
      return sent.length;
    }
    if (sent.length) await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [sent]);
    const failed = rows.flatMap((r, i) => {
      const res = results[i];
      if (res.status !== 'rejected') return [];
      const reason = res.reason instanceof Error ? res.reason.message : String(res.reason);
      this.logger.error({ correlationId: r.correlation_id, messageId: r.id, type: r.type, err: reason }, 'outbox publish failed; will retry');
      return [{ id: r.id, reason, backoffMs: Math.min(60_000, 500 * 2 ** Math.min(r.attempts, 7)) }];
    });
    if (failed.length) {
      await client.query(
        `UPDATE outbox o SET attempts = o.attempts + 1, last_error = f.reason, available_at = now() + make_interval(secs => f.backoff_ms / 1000.0)
           FROM unnest($1::uuid[], $2::text[], $3::int[]) AS f(id, reason, backoff_ms) WHERE o.id = f.id`,
        [failed.map((f) => f.id), failed.map((f) => f.reason), failed.map((f) => f.backoffMs)],
      );
    }
    await client.query('COMMIT');
    return sent.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let claimed = 0;
      try {
        if (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
        const pass = await this.startPass();
        if (pass) {
          claimed = pass.count;
          // Publishes in the background; the loop claims the next batch meanwhile.
          const tracked: Promise<void> = pass.done
            .then(() => undefined)
            .catch((err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : err }, 'outbox relay pass failed'))
            .finally(() => this.inFlight.delete(tracked));
          this.inFlight.add(tracked);
        }
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : err }, 'outbox relay pass failed');
      }
      // More rows were committed meanwhile: go again without asking when to wake.
      if (claimed === this.batchSize || this.woken) continue;
      await this.sleep(await this.nextWakeMs());
    }
  }

  /**
   * Sleep until the next held-back row is due, or the poll interval, whichever is first. Due
   * rows we could not claim are another pass's (locked); a NOTIFY wakes us for new ones, and
   * the poll finds rows a dead relay's rolled-back pass set free.
   */
  private async nextWakeMs(): Promise<number> {
    try {
      const {
        rows: [row],
      } = await this.pool.query<{ ms: string | null }>(
        `SELECT EXTRACT(EPOCH FROM (min(available_at) - now())) * 1000 AS ms FROM outbox WHERE published_at IS NULL AND available_at > now()`,
      );
      if (row?.ms === null || row?.ms === undefined) return this.pollMs;
      return Math.max(0, Math.min(this.pollMs, Number(row.ms)));
    } catch {
      return this.pollMs;
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.wait(ms, true);
  }

  /** Waits ms, cut short by wakeAll() (a NOTIFY, stop()); with `skipIfWoken`, not at all after a NOTIFY the loop has not handled yet. */
  private wait(ms: number, skipIfWoken: boolean): Promise<void> {
    return new Promise((resolve) => {
      if ((skipIfWoken && this.woken) || !this.running) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private wakeAll(): void {
    this.woken = true;
    for (const wake of [...this.sleepers]) wake();
  }

  /**
   * One relay per schema listens: the one holding a session advisory lock on its LISTEN
   * connection. Every NOTIFY woke every relay before, and at hundreds of commits per second
   * the relays' empty claims cost more than they published (p99 57 ms with 3 relays, 24 ms
   * with 1; bench/messaging). The others poll every pollMs, so rows still go out within a
   * second if the listener is stuck, and one of them takes over the lock (released when the
   * listener's connection ends) within LISTENER_RETRY_MS.
   */
  private async listen(): Promise<void> {
    while (this.running) {
      // A relay that cannot reach the broker must not hold the listener role: it would take
      // the NOTIFYs and publish nothing.
      if (!this.connection.isConnected()) {
        await this.wait(LISTENER_RETRY_MS, false);
        continue;
      }
      const client = new Client({ connectionString: this.options.databaseUrl, application_name: 'pbx-backup-outbox-listen' });
      let leader = false;
      try {
        await client.connect();
        const { rows } = await client.query<{ leader: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS leader', [`pbx-backup-outbox-listener:${this.options.schema}`]);
        leader = rows[0].leader;
        if (leader) {
          this.listener = client;
          client.on('notification', () => this.wakeAll());
          await client.query(`LISTEN "${outboxChannel(this.options.schema)}"`);
          this.wakeAll(); // rows committed before LISTEN took effect
          await new Promise<void>((resolve) => {
            const brokerCheck = setInterval(() => {
              if (!this.connection.isConnected() || !this.running) done(); // hand the role over
            }, 1000);
            const done = (): void => {
              clearInterval(brokerCheck);
              resolve();
            };
            client.on('error', done);
            client.on('end', done);
          });
        }
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : err }, 'outbox LISTEN connection failed; polling until it is back');
      }
      this.listener = undefined;
      await client.end().catch(() => undefined); // ends the session: the advisory lock goes with it
      if (this.running) await this.wait(leader ? 1000 : LISTENER_RETRY_MS, false); // stop() cuts it short
    }
  }

  /** Whether this relay is the one listening for NOTIFY (see listen()). */
  get isListener(): boolean {
    return this.listener !== undefined;
  }
}

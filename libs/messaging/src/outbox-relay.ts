import { Pool, type PoolClient, type QueryResult } from 'pg';
import type { MessageType, PayloadOf } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import type { AmqpConnection } from './amqp-connection';
import { MessagePublisher } from './message-publisher';
import { pruneOutboxAndInbox } from './outbox-retention';
import { outboxChannel } from './outbox-writer';
import { PgListener } from './pg-listener';

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
  private readonly listener: PgListener;
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
    // One relay per schema listens: the one holding a session advisory lock on its LISTEN
    // connection. Every NOTIFY woke every relay before, and at hundreds of commits per second
    // the relays' empty claims cost more than they published (p99 57 ms with 3 relays, 24 ms
    // with 1; bench/messaging). The others poll every pollMs, so rows still go out within a
    // second if the listener is stuck, and one of them takes over the lock (released when the
    // listener's connection ends) within LISTENER_RETRY_MS.
    this.listener = new PgListener(
      {
        databaseUrl: options.databaseUrl,
        channel: outboxChannel(options.schema),
        applicationName: 'pbx-backup-outbox-listen',
        onNotify: () => this.wakeAll(),
        reconnectDelayMs: LISTENER_RETRY_MS,
        // A relay that cannot reach the broker must not hold the listener role: it would take
        // the NOTIFYs and publish nothing.
        mayListen: () => this.connection.isConnected(),
        claim: async (client) => {
          const { rows } = await client.query<{ leader: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS leader', [`pbx-backup-outbox-listener:${options.schema}`]);
          return rows[0].leader;
        },
      },
      logger,
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.listener.start();
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

  /** One retention pass (see pruneOutboxAndInbox), logged when it deleted anything. */
  async prune(): Promise<{ outbox: number; inbox: number }> {
    const deleted = await pruneOutboxAndInbox(this.pool);
    if (deleted.outbox || deleted.inbox) this.logger.info(deleted, 'pruned published outbox rows and old inbox records');
    return deleted;
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.running = false;
    this.wakeAll();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    await this.listener.stop();
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

  /** Waits ms, cut short by wakeAll() (a NOTIFY, stop()); not at all after a NOTIFY the loop has not handled yet. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.woken || !this.running) return resolve();
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

  /** Whether this relay is the one listening for NOTIFY (see the constructor). */
  get isListener(): boolean {
    return this.listener.isListening;
  }
}

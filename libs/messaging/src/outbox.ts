import { Client } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
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
    await manager.query(
      `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, created_at, available_at)
       SELECT r.id, r.type, r.version, r.routing_key, r.correlation_id, r.payload, r.created_at, r.available_at
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, type varchar, version integer, routing_key varchar, correlation_id varchar,
                                                 payload jsonb, created_at timestamptz, available_at timestamptz)`,
      [JSON.stringify(rows)],
    );
    await manager.query('SELECT pg_notify($1, $2)', [outboxChannel(this.schema), '']);
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
}

/**
 * Publishes outbox rows with confirms and marks them sent. Any number of relays may
 * run: rows are claimed with FOR UPDATE SKIP LOCKED, so none is published twice by two
 * relays (a crash between publish and commit can repeat one; consumers dedupe by id).
 */
export class OutboxRelay {
  private readonly publisher: MessagePublisher;
  private listener?: Client;
  private running = false;
  private wake?: () => void;
  /** A NOTIFY that arrived while we were busy: the next sleep returns at once. */
  private woken = false;
  private loop?: Promise<void>;
  private readonly batchSize: number;
  private readonly pollMs: number;

  constructor(
    private readonly dataSource: DataSource,
    connection: AmqpConnection,
    private readonly options: OutboxRelayOptions,
    private readonly logger: Logger,
  ) {
    this.publisher = new MessagePublisher(connection);
    this.batchSize = options.batchSize ?? 200;
    this.pollMs = options.pollMs ?? 1000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.listen();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.woken = true;
    this.wake?.();
    await this.loop;
    await this.listener?.end().catch(() => undefined);
  }

  /** Publishes what is due now; returns how many rows were published. */
  async drainOnce(): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      const rows: OutboxRow[] = await tx.query(
        `SELECT id, type, version, correlation_id, payload, created_at, attempts FROM outbox
          WHERE published_at IS NULL AND available_at <= now()
          ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      if (!rows.length) return 0;
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
      if (sent.length) await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [sent]);
      for (const [i, r] of rows.entries()) {
        const res = results[i];
        if (res.status === 'rejected') {
          const reason = res.reason instanceof Error ? res.reason.message : String(res.reason);
          const backoffMs = Math.min(60_000, 500 * 2 ** Math.min(r.attempts, 7));
          this.logger.error({ correlationId: r.correlation_id, messageId: r.id, type: r.type, err: reason }, 'outbox publish failed; will retry');
          await tx.query(
            `UPDATE outbox SET attempts = attempts + 1, last_error = $2, available_at = now() + ($3 || ' milliseconds')::interval WHERE id = $1`,
            [r.id, reason, String(backoffMs)],
          );
        }
      }
      return sent.length;
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let published = 0;
      try {
        published = await this.drainOnce();
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : err }, 'outbox relay pass failed');
      }
      // More rows were committed during the pass: go again without asking when to wake.
      if (published === this.batchSize || this.woken) continue;
      await this.sleep(await this.nextWakeMs());
    }
  }

  /** Sleep until the next held-back row is due, or the poll interval, whichever is first. */
  private async nextWakeMs(): Promise<number> {
    try {
      const [row]: { ms: number | null }[] = await this.dataSource.query(
        `SELECT EXTRACT(EPOCH FROM (min(available_at) - now())) * 1000 AS ms FROM outbox WHERE published_at IS NULL`,
      );
      if (row?.ms === null || row?.ms === undefined) return this.pollMs;
      return Math.max(0, Math.min(this.pollMs, Number(row.ms)));
    } catch {
      return this.pollMs;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.woken || !this.running) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async listen(): Promise<void> {
    while (this.running) {
      const client = new Client({ connectionString: this.options.databaseUrl, application_name: 'pbx-backup-outbox-listen' });
      try {
        await client.connect();
        this.listener = client;
        client.on('notification', () => {
          this.woken = true;
          this.wake?.();
        });
        await client.query(`LISTEN "${outboxChannel(this.options.schema)}"`);
        await new Promise<void>((resolve) => {
          client.on('error', () => resolve());
          client.on('end', () => resolve());
        });
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : err }, 'outbox LISTEN connection failed; polling until it is back');
      }
      await client.end().catch(() => undefined);
      if (this.running) await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

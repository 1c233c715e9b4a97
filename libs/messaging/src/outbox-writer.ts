import type { EntityManager } from 'typeorm';
import { MESSAGES, type MessageType, type PayloadOf } from '@pbx/contracts';
import { createEnvelope } from './envelope';

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
   * Releases the held-back messages of `types` for `correlationId` now instead of at their
   * `availableAt` (a deferral that ended early). Only rows still held back change, so of
   * two callers one brings them forward; returns how many it did.
   */
  async bringForward(manager: EntityManager, correlationId: string, types: readonly MessageType[]): Promise<number> {
    const [rows]: [unknown[], number] = await manager.query(
      `UPDATE outbox SET available_at = now()
        WHERE correlation_id = $1 AND type = ANY($2::varchar[]) AND published_at IS NULL AND available_at > now()
        RETURNING pg_notify($3, '')`,
      [correlationId, types, outboxChannel(this.schema)],
    );
    return rows.length;
  }

  /**
   * Drops the run's messages that are still held back (a cancelled run's deferral or retry
   * wait): nothing is left for them to do. Returns how many.
   */
  async discardHeldBack(manager: EntityManager, correlationId: string, types: readonly MessageType[]): Promise<number> {
    const [, affected]: [unknown[], number] = await manager.query(
      `DELETE FROM outbox WHERE correlation_id = $1 AND type = ANY($2::varchar[]) AND published_at IS NULL AND available_at > now()`,
      [correlationId, types],
    );
    return affected;
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

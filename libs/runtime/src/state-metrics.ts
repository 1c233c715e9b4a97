import type { DataSource } from 'typeorm';
import { NOMINAL_INTERVAL_MS, QUEUES, SCHEDULED_INTERVALS, SUBSCRIPTIONS, type ScheduledInterval, type SubscribedQueue } from '@pbx/contracts';
import type { AmqpConnection } from '@pbx/messaging';
import type { StateSnapshot } from '@pbx/observability';

type Row = Record<string, string | number | null>;

/**
 * The state every app exports on /metrics (PbxMetrics.collectState): queue depth and consumers
 * from RabbitMQ, outbox backlog, open dead letters and each scheduled configuration's last
 * success from Postgres. A few indexed aggregates per scrape.
 */
export async function readStateSnapshot(dataSource: DataSource, amqp: AmqpConnection): Promise<StateSnapshot> {
  const q = (sql: string, params: unknown[] = []) => dataSource.query(sql, params) as Promise<Row[]>;
  // The audit queue has no consumer on purpose (bounded, for ops to tap): as a queue with 0
  // consumers it would trip the alert on a queue no worker serves.
  const queueNames = (Object.keys(SUBSCRIPTIONS) as SubscribedQueue[]).filter((name) => name !== QUEUES.audit);
  const [queues, outbox, deadLetters, configurations] = await Promise.all([
    // A broker that does not answer leaves the queue out (an absent series, not a false 0 consumers).
    Promise.all(queueNames.map((queue) => amqp.queueStats(queue).then((s) => ({ queue, ...s }), () => null))),
    // Held back = never tried and not due yet (available_at ahead): a deferred run's message, a
    // scheduled retry; it is not backlog. A row the relay failed to publish waits since it was
    // written; any other since it became due.
    q(`SELECT count(*) FILTER (WHERE NOT held)::int AS n, count(*) FILTER (WHERE held)::int AS deferred,
              COALESCE(EXTRACT(EPOCH FROM now() - min(CASE WHEN attempts > 0 THEN created_at ELSE available_at END) FILTER (WHERE NOT held)), 0)::float AS age
         FROM (SELECT created_at, available_at, attempts, attempts = 0 AND available_at > now() AS held FROM outbox WHERE published_at IS NULL) o`),
    q(`SELECT queue, count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL GROUP BY queue`),
    q(
      `SELECT id, name, kind, "interval", COALESCE(EXTRACT(EPOCH FROM last_success_at), 0)::float AS last_success, EXTRACT(EPOCH FROM created_at)::float AS created
         FROM configurations WHERE deleted_at IS NULL AND ephemeral = false AND "interval" = ANY($1::varchar[])`,
      [SCHEDULED_INTERVALS],
    ),
  ]);
  return {
    queues: queues.filter((x): x is NonNullable<typeof x> => x !== null),
    outbox: { pending: Number(outbox[0]?.n ?? 0), oldestPendingSeconds: Number(outbox[0]?.age ?? 0), deferred: Number(outbox[0]?.deferred ?? 0) },
    deadLettersByQueue: deadLetters.map((r) => ({ queue: String(r.queue), open: Number(r.n) })),
    configurations: configurations.map((r) => ({
      id: String(r.id),
      name: String(r.name),
      kind: String(r.kind),
      intervalSeconds: NOMINAL_INTERVAL_MS[r.interval as ScheduledInterval] / 1000,
      lastSuccess: Number(r.last_success),
      created: Number(r.created),
    })),
  };
}

import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { DataSource } from 'typeorm';
import { HEADERS, SUBSCRIPTIONS, type SubscribedQueue } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import type { AmqpConnection } from './amqp-connection';

/**
 * Drains every `<queue>.dlq` into the dead_letters table so ops can list, replay or
 * discard them. The row is written before the ack: a crash re-records, never loses.
 */
export class DeadLetterRecorder {
  private channels: ChannelWrapper[] = [];

  constructor(
    private readonly connection: AmqpConnection,
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    for (const q of Object.keys(SUBSCRIPTIONS) as SubscribedQueue[]) {
      const dlq = this.connection.names.dlq(q);
      const channel = this.connection.createChannel(`dlq:${dlq}`, async (ch) => {
        await ch.prefetch(20);
        await ch.consume(dlq, (msg) => {
          if (!msg) return;
          this.record(q, msg).then(
            () => ch.ack(msg),
            (err) => {
              this.logger.error({ err, queue: q }, 'could not record a dead letter; it stays in the DLQ');
              try {
                ch.nack(msg, false, true);
              } catch {
                /* channel gone */
              }
            },
          );
        });
      });
      this.channels.push(channel);
    }
    await Promise.all(this.channels.map((c) => c.waitForConnect()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.close().catch(() => undefined)));
    this.channels = [];
  }

  private async record(queue: SubscribedQueue, msg: ConsumeMessage): Promise<void> {
    const h = msg.properties.headers ?? {};
    const body = msg.content.toString('utf8');
    let type: string | null = msg.properties.type ? String(msg.properties.type) : null;
    let correlationId: string | null = msg.properties.correlationId ? String(msg.properties.correlationId) : null;
    try {
      const parsed = JSON.parse(body) as { type?: unknown; correlationId?: unknown };
      if (!type && typeof parsed.type === 'string') type = parsed.type;
      if (!correlationId && typeof parsed.correlationId === 'string') correlationId = parsed.correlationId;
    } catch {
      /* not JSON: kept as text */
    }
    const now = new Date().toISOString();
    const deathReason = Array.isArray(h['x-death']) ? `rejected by broker (${JSON.stringify(h['x-death'][0]?.reason ?? 'unknown')})` : 'unknown';
    const headers = Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'x-death'));
    await this.dataSource.query(
      `INSERT INTO dead_letters (queue, message_id, type, routing_key, correlation_id, headers, body, reason, attempts, first_failed_at, last_failed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (queue, message_id) DO UPDATE SET
         reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, headers = EXCLUDED.headers,
         last_failed_at = EXCLUDED.last_failed_at, recorded_at = now(), replayed_at = NULL, replayed_by = NULL`,
      [
        queue,
        String(msg.properties.messageId ?? `no-id-${Date.now()}-${msg.fields.deliveryTag}`),
        type,
        h[HEADERS.deadRoutingKey] ? String(h[HEADERS.deadRoutingKey]) : msg.fields.routingKey,
        correlationId,
        JSON.stringify(headers),
        body,
        String(h[HEADERS.deadReason] ?? deathReason),
        Number(h[HEADERS.attempt] ?? 1),
        String(h[HEADERS.firstFailedAt] ?? now),
        String(h[HEADERS.lastFailedAt] ?? now),
      ],
    );
    this.logger.warn({ queue, type, correlationId, reason: h[HEADERS.deadReason] }, 'dead letter recorded');
  }
}

/** Puts a recorded dead letter back on its queue, exactly once per recording. */
export async function republishDeadLetter(
  connection: AmqpConnection,
  letter: { queue: string; messageId: string; type: string | null; correlationId: string | null; body: string; id: string },
): Promise<void> {
  const queue = connection.names.unqualify(letter.queue) ?? (letter.queue as SubscribedQueue);
  await connection.sendToQueue(connection.names.queue(queue), Buffer.from(letter.body, 'utf8'), {
    messageId: letter.messageId,
    type: letter.type ?? undefined,
    correlationId: letter.correlationId ?? undefined,
    // A fresh budget of attempts: the cause is presumably fixed.
    headers: { [HEADERS.attempt]: 1, [HEADERS.replayOf]: letter.id },
  });
}

import type { Channel } from 'amqplib';
import { AUDIT_QUEUE_MAX_LENGTH, DLQ_SUFFIX, EXCHANGES, QUEUES, RETRY_SUFFIX, MESSAGES, SUBSCRIPTIONS, type SubscribedQueue } from '@pbx/contracts';

/** Broker names with the deployment's namespace prefix applied. */
export class Names {
  constructor(private readonly namespace: string) {}
  get events(): string {
    return this.namespace + EXCHANGES.events;
  }
  get deadLetters(): string {
    return this.namespace + EXCHANGES.deadLetters;
  }
  queue(q: SubscribedQueue): string {
    return this.namespace + q;
  }
  dlq(q: SubscribedQueue): string {
    return this.queue(q) + DLQ_SUFFIX;
  }
  retry(q: SubscribedQueue, retry: number): string {
    return `${this.queue(q)}${RETRY_SUFFIX}${retry}`;
  }
  /** The consumer queue a namespaced queue name stands for, if any. */
  unqualify(name: string): SubscribedQueue | undefined {
    const bare = name.startsWith(this.namespace) ? name.slice(this.namespace.length) : name;
    return (Object.keys(SUBSCRIPTIONS) as SubscribedQueue[]).find((q) => q === bare);
  }
}

/**
 * Declares every exchange and queue, idempotently: each app declares the whole topology
 * at boot, so a publish is routable even before its consumers first start.
 * Retry queues hold a message for its delay (per-message TTL, one queue per retry number
 * so a long delay never blocks a short one) and dead-letter it back to the work queue.
 */
export async function declareTopology(ch: Channel, names: Names, maxRetries: number): Promise<void> {
  await ch.assertExchange(names.events, 'topic', { durable: true });
  await ch.assertExchange(names.deadLetters, 'direct', { durable: true });
  for (const q of Object.keys(SUBSCRIPTIONS) as SubscribedQueue[]) {
    const queue = names.queue(q);
    await ch.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-dead-letter-exchange': names.deadLetters,
        'x-dead-letter-routing-key': queue,
        // The audit tap may have no consumer: keep it bounded.
        ...(q === QUEUES.audit ? { 'x-max-length': AUDIT_QUEUE_MAX_LENGTH, 'x-overflow': 'drop-head' } : {}),
      },
    });
    for (const type of SUBSCRIPTIONS[q]) await ch.bindQueue(queue, names.events, MESSAGES[type].routingKey);
    await ch.assertQueue(names.dlq(q), { durable: true });
    await ch.bindQueue(names.dlq(q), names.deadLetters, queue);
    for (let r = 1; r <= maxRetries; r++) {
      await ch.assertQueue(names.retry(q, r), {
        durable: true,
        arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
      });
    }
  }
}

import { connect } from 'amqplib';
import { DLQ_SUFFIX, EXCHANGES, RETRY_SUFFIX, SUBSCRIPTIONS } from '@pbx/contracts';
import { testUrls, uniqueName } from './isolation';

/** A namespace (name prefix) of its own for a suite's exchanges and queues. */
export function amqpNamespace(): string {
  return `${uniqueName('t').toLowerCase().replace(/_/g, '-')}.`;
}

/** Deletes every exchange and queue of a namespace (retry queues up to 10 levels). */
export async function deleteAmqpNamespace(namespace: string, url = testUrls.amqp): Promise<void> {
  const conn = await connect(url);
  const ch = await conn.createChannel();
  try {
    for (const q of Object.keys(SUBSCRIPTIONS)) {
      const base = namespace + q;
      const names = [base, base + DLQ_SUFFIX, ...Array.from({ length: 10 }, (_, i) => `${base}${RETRY_SUFFIX}${i + 1}`)];
      for (const n of names) await ch.deleteQueue(n);
    }
    for (const ex of Object.values(EXCHANGES)) await ch.deleteExchange(namespace + ex);
  } finally {
    await ch.close().catch(() => undefined);
    await conn.close();
  }
}

/** Number of messages ready in a queue. */
export async function queueDepth(queue: string, url = testUrls.amqp): Promise<number> {
  const conn = await connect(url);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close();
  }
}

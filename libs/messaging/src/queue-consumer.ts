import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, MessagePropertyHeaders } from 'amqplib';
import type { DataSource } from 'typeorm';
import { checkEnvelope, HEADERS, SUBSCRIPTIONS, type Envelope, type SubscribedQueue } from '@pbx/contracts';
import { withCorrelation, type Logger } from '@pbx/observability';
import { AckBatcher } from './ack-batcher';
import type { AmqpConnection } from './amqp-connection';
import { Inbox } from './inbox';
import { PermanentMessageError } from './errors';
import { retryDelayMs, type RetryPolicy } from './messaging-options';

export type Dispatch = (envelope: Envelope) => Promise<void>;

export interface QueueConsumerOptions {
  queue: SubscribedQueue;
  prefetch: number;
  retry: RetryPolicy;
  dispatch: Dispatch;
  /** Inbox: skip message ids this consumer group already handled. */
  dataSource: DataSource;
}

/**
 * Consumes one queue with manual acks. A message is acked only after its handler's work
 * is durable; a failure is re-queued through a delay queue with a growing delay, and
 * after the last attempt (or at once when retrying cannot help) dead-lettered with the
 * reason, a stack summary and the attempt count in its headers.
 */
export class QueueConsumer {
  private channel?: ChannelWrapper;
  /** The raw channel of the current connection and its consumer tag (cancel needs both). */
  private current?: { ch: ConfirmChannel; consumerTag: string; acks: AckBatcher };
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly inbox: Inbox;
  /** Message ids in hand → whether that copy ended handled (see handle()). */
  private readonly handling = new Map<string, Promise<boolean>>();

  constructor(
    private readonly connection: AmqpConnection,
    private readonly options: QueueConsumerOptions,
    private readonly logger: Logger,
  ) {
    this.inbox = new Inbox(options.dataSource, options.queue);
  }

  async start(): Promise<void> {
    const queue = this.connection.names.queue(this.options.queue);
    this.channel = this.connection.createChannel(`consume:${queue}`, async (ch) => {
      await ch.prefetch(this.options.prefetch);
      const acks = new AckBatcher(ch); // delivery tags belong to this channel
      const { consumerTag } = await ch.consume(queue, (msg) => {
        if (!msg) return; // consumer cancelled by the broker; the wrapper re-runs setup on reconnect
        acks.track(msg);
        const work = this.handle(acks, msg).finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      }, { noAck: false });
      this.current = { ch, consumerTag, acks };
    });
    await this.channel.waitForConnect();
  }

  /** Stops taking new messages, lets the ones in hand finish (bounded), then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const ch = this.channel;
    if (!ch) return;
    if (this.current) await this.current.ch.cancel(this.current.consumerTag).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((r) => {
        timer = setTimeout(r, graceMs);
      }),
    ]);
    clearTimeout(timer);
    // Acks wait for the end of the turn; send them before the channel goes, or the finished
    // messages would be redelivered (harmless, the inbox skips them, but wasted).
    this.current?.acks.flush();
    // Whatever is still running is abandoned: closing the channel returns it to the queue.
    await ch.close().catch(() => undefined);
  }

  private async handle(acks: AckBatcher, msg: ConsumeMessage): Promise<void> {
    const headers = msg.properties.headers ?? {};
    const attempt = Number(headers[HEADERS.attempt] ?? 1) || 1;
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch {
      return this.deadLetter(acks, msg, attempt, new PermanentMessageError('body is not JSON'));
    }
    const check = checkEnvelope(body);
    if (!check.ok) return this.deadLetter(acks, msg, attempt, new PermanentMessageError(check.reason));
    const envelope = check.envelope;
    const accepted: readonly string[] = SUBSCRIPTIONS[this.options.queue];
    if (!accepted.includes(envelope.type)) {
      return this.deadLetter(acks, msg, attempt, new PermanentMessageError(`queue ${this.options.queue} does not handle ${envelope.type}`));
    }

    await withCorrelation(envelope.correlationId, async () => {
      // Built only when something is logged: pino redacts a child's bindings on creation,
      // which cost ~0.1 ms per message on the happy path (bench/messaging).
      let child: Logger | undefined;
      const log = (): Logger => (child ??= this.logger.child({ queue: this.options.queue, messageId: envelope.messageId, type: envelope.type, attempt }));
      // A copy of a message this consumer is handling right now (a relay's republish, a
      // redelivery after a broker cut) waits for it: the inbox cannot tell yet, because the
      // first copy's record is not committed. Registered before the first await.
      const id = envelope.messageId.toLowerCase();
      const earlier = this.handling.get(id);
      let settle!: (handled: boolean) => void;
      const mine = new Promise<boolean>((resolve) => (settle = resolve));
      this.handling.set(id, mine);
      let handled = false;
      try {
        if ((earlier && (await earlier)) || (await this.inbox.has(envelope.messageId))) {
          log().info('message already handled; acknowledging the duplicate');
          handled = true;
          return acks.ack(msg);
        }
        await this.options.dispatch(envelope);
        await this.inbox.record(envelope.messageId);
        handled = true;
        acks.ack(msg);
      } catch (err) {
        if (this.stopping && !(err instanceof PermanentMessageError)) {
          // Shutting down: give the message back untouched rather than burn an attempt.
          return acks.nack(msg, true); // back to the queue untouched
        }
        const error = err instanceof Error ? err : new Error(String(err));
        if (error instanceof PermanentMessageError || attempt >= this.options.retry.maxAttempts) {
          log().error({ err: error }, 'message failed for good; dead-lettering it');
          return this.deadLetter(acks, msg, attempt, error);
        }
        const delay = retryDelayMs(this.options.retry, attempt);
        log().warn({ err: error.message, retryInMs: delay }, 'message failed; retrying later');
        await this.retry(acks, msg, attempt, delay, error);
      } finally {
        settle(handled);
        if (this.handling.get(id) === mine) this.handling.delete(id);
      }
    });
  }

  private async retry(acks: AckBatcher, msg: ConsumeMessage, attempt: number, delayMs: number, error: Error): Promise<void> {
    const names = this.connection.names;
    try {
      await this.connection.sendToQueue(names.retry(this.options.queue, attempt), msg.content, {
        ...this.forwardProps(msg),
        expiration: String(delayMs),
        headers: { ...this.failureHeaders(msg, error), [HEADERS.attempt]: attempt + 1 },
      });
      acks.ack(msg);
    } catch (err) {
      this.logger.error({ err }, 'could not schedule a retry; returning the message to the queue');
      acks.nack(msg, true); // back to the queue untouched
    }
  }

  private async deadLetter(acks: AckBatcher, msg: ConsumeMessage, attempt: number, error: Error): Promise<void> {
    const names = this.connection.names;
    try {
      await this.connection.publish(names.deadLetters, names.queue(this.options.queue), msg.content, {
        ...this.forwardProps(msg),
        headers: {
          ...this.failureHeaders(msg, error),
          [HEADERS.attempt]: attempt,
          [HEADERS.deadReason]: error.message.slice(0, 2000),
          [HEADERS.deadStack]: (error.stack ?? '').split('\n').slice(0, 6).join('\n'),
          [HEADERS.deadQueue]: this.options.queue,
        },
      });
      acks.ack(msg);
    } catch (err) {
      this.logger.error({ err }, 'could not dead-letter; rejecting so the broker dead-letters it');
      acks.nack(msg, false);
    }
  }

  private failureHeaders(msg: ConsumeMessage, _error: Error): MessagePropertyHeaders {
    const h = msg.properties.headers ?? {};
    const now = new Date().toISOString();
    return {
      ...h,
      [HEADERS.deadRoutingKey]: h[HEADERS.deadRoutingKey] ?? msg.fields.routingKey,
      [HEADERS.firstFailedAt]: h[HEADERS.firstFailedAt] ?? now,
      [HEADERS.lastFailedAt]: now,
    };
  }

  private forwardProps(msg: ConsumeMessage): { messageId: string; type?: string; correlationId?: string; timestamp?: number } {
    const p = msg.properties;
    return {
      messageId: String(p.messageId ?? `unknown-${msg.fields.deliveryTag}-${Date.now()}`),
      type: p.type,
      correlationId: p.correlationId,
      timestamp: p.timestamp,
    };
  }
}

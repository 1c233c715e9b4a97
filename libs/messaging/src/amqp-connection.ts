import { connect, type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { SubscribedQueue } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import { UnroutableMessageError } from './errors';
import { declareTopology, Names } from './topology';
import type { MessagingOptions } from './messaging-options';

/**
 * One broker connection per process, reconnecting on its own. A confirm channel publishes
 * (persistent, mandatory, confirmed); consumers get channels of their own. Every channel
 * re-declares the topology when it (re)connects.
 */
export class AmqpConnection {
  readonly names: Names;
  private readonly manager: AmqpConnectionManager;
  private readonly publishChannel: ChannelWrapper;
  /** Message ids the broker returned as unroutable; the return arrives before the confirm. */
  private readonly returned = new Set<string>();
  private readonly maxRetries: number;

  constructor(
    private readonly options: MessagingOptions,
    private readonly logger: Logger,
  ) {
    this.names = new Names(options.namespace);
    this.maxRetries = Math.max(
      options.retry.maxAttempts,
      ...Object.values(options.retryByQueue ?? {}).map((p) => p?.maxAttempts ?? 0),
    ) - 1;
    this.manager = connect([options.amqpUrl], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
    this.manager.on('connect', () => this.logger.info('connected to RabbitMQ'));
    this.manager.on('disconnect', ({ err }) => this.logger.warn({ err: err?.message }, 'disconnected from RabbitMQ; reconnecting'));
    this.manager.on('connectFailed', ({ err }) => this.logger.warn({ err: err?.message }, 'RabbitMQ connection failed; retrying'));
    this.publishChannel = this.manager.createChannel({
      name: 'publish',
      confirm: true,
      publishTimeout: 10_000,
      setup: async (ch: ConfirmChannel) => {
        ch.on('return', (msg: ConsumeMessage) => {
          if (msg.properties.messageId) this.returned.add(String(msg.properties.messageId));
        });
        await this.declare(ch);
      },
    });
    this.watch(this.publishChannel);
  }

  /**
   * A channel whose setup fails (the broker cut the connection mid-setup) emits 'error';
   * unheard, that would crash the process. The manager reconnects and runs the setup again.
   */
  private watch(channel: ChannelWrapper): ChannelWrapper {
    channel.on('error', (err: Error, info?: { name?: string }) =>
      this.logger.warn({ err: err.message, channel: info?.name }, 'RabbitMQ channel setup failed; it is set up again on reconnect'),
    );
    return channel;
  }

  isConnected(): boolean {
    return this.manager.isConnected();
  }

  async waitForConnect(timeoutMs = 30_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.publishChannel.waitForConnect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`RabbitMQ not reachable within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  declare(ch: ConfirmChannel): Promise<void> {
    return declareTopology(ch, this.names, this.maxRetries);
  }

  /** Publishes persistently with confirms; an unroutable message rejects. */
  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish & { messageId: string }): Promise<void> {
    await this.publishChannel.publish(exchange, routingKey, body, { ...options, persistent: true, mandatory: true, contentType: 'application/json' });
    if (this.returned.delete(options.messageId)) throw new UnroutableMessageError(exchange, routingKey);
  }

  /** Straight to a queue through the default exchange (retries, dead letters, replays). */
  async sendToQueue(queue: string, body: Buffer, options: Options.Publish & { messageId: string }): Promise<void> {
    await this.publish('', queue, body, options);
  }

  /** Ready messages and consumers of a consumer queue (a passive check on the publish channel; metrics). */
  async queueStats(queue: SubscribedQueue): Promise<{ messages: number; consumers: number }> {
    const reply = await this.publishChannel.checkQueue(this.names.queue(queue));
    return { messages: reply.messageCount, consumers: reply.consumerCount };
  }

  createChannel(name: string, setup: (ch: ConfirmChannel) => Promise<void>): ChannelWrapper {
    return this.watch(this.manager.createChannel({
      name,
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        await this.declare(ch);
        await setup(ch);
      },
    }));
  }

  async close(): Promise<void> {
    await this.publishChannel.close().catch(() => undefined);
    await this.manager.close();
  }
}

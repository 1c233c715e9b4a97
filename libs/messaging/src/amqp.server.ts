import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { lastValueFrom, throwError, type Observable } from 'rxjs';
import type { DataSource } from 'typeorm';
import { MESSAGE_TYPES, SUBSCRIPTIONS, type Envelope, type SubscribedQueue } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import type { AmqpConnection } from './amqp-connection';
import type { MessagingOptions } from './messaging-options';
import { QueueConsumer } from './queue-consumer';

export interface AmqpServerOptions {
  connection: AmqpConnection;
  dataSource: DataSource;
  logger: Logger;
  options: MessagingOptions;
  /** The consumer groups this app serves; it must handle every type routed to them. */
  queues: SubscribedQueue[];
}

/**
 * Nest transport over our own consumer: Nest's built-in RMQ server acks automatically
 * and has no retry or dead-lettering, so handlers declared with `@EventPattern(type)`
 * run here under manual acks, retries with backoff, dead letters and an inbox.
 * Boot fails when a consumed type has no handler, two handlers, or a handler has no queue.
 */
export class AmqpServer extends Server implements CustomTransportStrategy {
  private consumers: QueueConsumer[] = [];

  constructor(private readonly deps: AmqpServerOptions) {
    super();
  }

  listen(callback: (err?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (err) => callback(err),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
    this.consumers = [];
  }

  on(): void {
    /* no transport events to expose */
  }

  unwrap<T>(): T {
    return this.deps.connection as T;
  }

  /** Throws unless every consumed type has exactly one handler and every handler is consumed. */
  verifyHandlers(): void {
    const problems: string[] = [];
    const consumed = new Set<string>(this.deps.queues.flatMap((q) => [...SUBSCRIPTIONS[q]]));
    for (const type of consumed) {
      const handler = this.messageHandlers.get(type);
      if (!handler) problems.push(`no handler for "${type}"`);
      else if (handler.next) problems.push(`more than one handler for "${type}"`);
    }
    for (const pattern of this.messageHandlers.keys()) {
      if (!consumed.has(pattern)) {
        const known = (MESSAGE_TYPES as string[]).includes(pattern);
        problems.push(known ? `handler for "${pattern}" but this app consumes no queue it is routed to` : `handler for unknown message type "${pattern}"`);
      }
    }
    if (problems.length) throw new Error(`message handlers do not match the subscriptions: ${problems.join('; ')}`);
  }

  private async start(): Promise<void> {
    this.verifyHandlers();
    const { connection, dataSource, logger, options } = this.deps;
    for (const queue of this.deps.queues) {
      const consumer = new QueueConsumer(
        connection,
        {
          queue,
          prefetch: options.prefetchByQueue?.[queue] ?? options.prefetch,
          retry: options.retryByQueue?.[queue] ?? options.retry,
          dataSource,
          dispatch: (envelope) => this.dispatch(envelope),
        },
        logger,
      );
      await consumer.start();
      this.consumers.push(consumer);
    }
    logger.info({ queues: this.deps.queues }, 'consuming');
  }

  private async dispatch(envelope: Envelope): Promise<void> {
    const handler = this.getHandlerByPattern(envelope.type);
    if (!handler) throw new Error(`no handler for ${envelope.type}`);
    const result = await handler(envelope);
    await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
  }
}

/**
 * Nest's default RPC filter turns every error into "Internal server error"; the consumer
 * needs the real error (its class decides retry or dead letter), so pass it through.
 * HTTP errors (a worker's health port) keep Nest's default handling.
 */
@Catch()
export class RethrowRpcExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    return super.catch(exception, host);
  }
}

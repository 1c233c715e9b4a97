import { Global, Inject, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { ARTIFACT_STORE, createArtifactStore } from '@pbx/artifacts';
import type { AppEnv } from '@pbx/config';
import { QUEUES } from '@pbx/contracts';
import { AmqpConnection, DeadLetterRecorder, OutboxRelay, OutboxWriter, type MessagingOptions } from '@pbx/messaging';
import { PbxMetrics, type Logger } from '@pbx/observability';
import { dataSourceOptions } from '@pbx/persistence';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { MetricsController } from './metrics.controller';
import { readStateSnapshot } from './state-metrics';
import { APP_ENV, REDIS, ROOT_LOGGER } from './tokens';

export interface CoreModuleOptions {
  service: string;
  env: AppEnv;
  logger: Logger;
  /** Run an outbox relay in this app (every app that writes the outbox should). */
  relay?: boolean;
  /** Record dead letters into Postgres (the api does). */
  recordDeadLetters?: boolean;
  /** Serve GET /metrics from PbxMetrics (default true; the api serves its own with more in it). */
  metricsRoute?: boolean;
}

export function messagingOptions(env: AppEnv): MessagingOptions {
  return {
    amqpUrl: env.AMQP_URL,
    namespace: env.AMQP_NAMESPACE,
    prefetch: env.AMQP_PREFETCH,
    // One run packs at a time per packer by default: packing is disk- and CPU-bound.
    prefetchByQueue: { [QUEUES.packerJobs]: env.PACKER_CONCURRENCY },
    retry: { maxAttempts: env.AMQP_MAX_ATTEMPTS, initialDelayMs: env.AMQP_RETRY_DELAY_MS },
    databaseSchema: env.DATABASE_SCHEMA,
  };
}

class MessagingLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly amqp: AmqpConnection,
    private readonly redis: Redis,
    private readonly relay: OutboxRelay | null,
    private readonly recorder: DeadLetterRecorder | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.relay?.start();
    await this.recorder?.start();
  }

  // Runs after Nest closed the consumers, so work in hand finished first.
  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
    await this.recorder?.stop();
    await this.amqp.close();
    this.redis.disconnect();
  }
}

/**
 * The shell every app shares: config, logger, Postgres (TypeORM), RabbitMQ (connection,
 * outbox writer and relay), Redis, and GET /health.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(opts: CoreModuleOptions): DynamicModule {
    const { env, logger, service } = opts;
    return {
      module: CoreModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, applicationName: `pbx-backup-${service}` }), retryAttempts: 30, retryDelay: 1000 }),
        }),
        // Health is reported by HealthService in its own shape; terminus need not log it too.
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: opts.metricsRoute === false ? [HealthController] : [HealthController, MetricsController],
      providers: [
        { provide: APP_ENV, useValue: env },
        { provide: ROOT_LOGGER, useValue: logger },
        { provide: 'SERVICE_NAME', useValue: service },
        {
          provide: AmqpConnection,
          useFactory: () => new AmqpConnection(messagingOptions(env), logger.child({ component: 'amqp' })),
        },
        {
          provide: REDIS,
          useFactory: () => {
            const redis = new Redis(env.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: false });
            redis.on('error', (err) => logger.debug({ err: err.message }, 'redis error'));
            return redis;
          },
        },
        { provide: OutboxWriter, useFactory: () => new OutboxWriter(env.DATABASE_SCHEMA) },
        // ARTIFACT_STORE=fs|s3: where packed archives wait (the s3 one loads the AWS SDK on first use).
        { provide: ARTIFACT_STORE, useFactory: () => createArtifactStore(env) },
        {
          provide: OutboxRelay,
          inject: [AmqpConnection],
          useFactory: (amqp: AmqpConnection) =>
            opts.relay === false ? null : new OutboxRelay(amqp, { databaseUrl: env.DATABASE_URL, schema: env.DATABASE_SCHEMA }, logger.child({ component: 'outbox-relay' })),
        },
        {
          provide: DeadLetterRecorder,
          inject: [DataSource, AmqpConnection],
          useFactory: (ds: DataSource, amqp: AmqpConnection) =>
            opts.recordDeadLetters ? new DeadLetterRecorder(amqp, ds, logger.child({ component: 'dead-letters' })) : null,
        },
        {
          provide: MessagingLifecycle,
          inject: [AmqpConnection, REDIS, OutboxRelay, DeadLetterRecorder],
          useFactory: (amqp: AmqpConnection, redis: Redis, relay: OutboxRelay | null, recorder: DeadLetterRecorder | null) =>
            new MessagingLifecycle(amqp, redis, relay, recorder),
        },
        HealthService,
        {
          // One registry per app: event metrics recorded where they happen, state read per scrape.
          provide: PbxMetrics,
          inject: [DataSource, AmqpConnection],
          useFactory: (ds: DataSource, amqp: AmqpConnection) => {
            const metrics = new PbxMetrics();
            metrics.collectState(() => readStateSnapshot(ds, amqp));
            return metrics;
          },
        },
      ],
      exports: [APP_ENV, ROOT_LOGGER, 'SERVICE_NAME', AmqpConnection, REDIS, ARTIFACT_STORE, OutboxWriter, OutboxRelay, DeadLetterRecorder, HealthService, PbxMetrics],
    };
  }
}

export const InjectEnv = (): ParameterDecorator => Inject(APP_ENV);
export const InjectLogger = (): ParameterDecorator => Inject(ROOT_LOGGER);

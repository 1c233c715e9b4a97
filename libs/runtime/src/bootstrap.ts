import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import type { SubscribedQueue } from '@pbx/contracts';
import { ConfigError, isAppName, loadEnv, missingDeploymentEnv, type AppEnv } from '@pbx/config';
import { AmqpConnection, AmqpServer, RethrowRpcExceptionFilter } from '@pbx/messaging';
import { createLogger, PinoNestLogger, type Logger } from '@pbx/observability';
import { migrateDatabase } from '@pbx/persistence';
import { messagingOptions } from './core.module';

/** Reads and validates the environment once; a bad value stops the process naming the variable. */
export function loadEnvOrExit(service: string, raw: Record<string, string | undefined>): { env: AppEnv; logger: Logger } {
  try {
    const env = loadEnv(raw);
    const logger = createLogger({ service, level: env.LOG_LEVEL, format: env.LOG_FORMAT });
    // A warning, not a refusal: benches and smoke runs use production mode on a developer's machine.
    const missing = env.NODE_ENV === 'production' && isAppName(service) ? missingDeploymentEnv(service, raw) : [];
    if (missing.length) logger.warn({ missing }, `production without ${missing.join(', ')}: using development defaults (docs/deploy.md)`);
    return { env, logger };
  } catch (err) {
    const logger = createLogger({ service });
    logger.fatal({ problems: err instanceof ConfigError ? err.problems : String(err) }, err instanceof Error ? err.message : 'invalid configuration');
    process.exit(78); // EX_CONFIG
  }
}

export interface StartOptions {
  service: string;
  env: AppEnv;
  logger: Logger;
  module: Type<unknown> | DynamicModule;
  /** Consumer groups this app serves (none for the api and scheduler). */
  queues: SubscribedQueue[];
  /** HTTP port: the api's PORT, a worker's HEALTH_PORT (0 = no HTTP). */
  port: number;
  configure?: (app: INestApplication) => void | Promise<void>;
}

/** Boots one app: migrations when asked, Nest with JSON logs, consumers, HTTP, SIGTERM handling. */
export async function startApp(opts: StartOptions): Promise<INestApplication> {
  const { env, logger } = opts;
  if (env.RUN_MIGRATIONS) {
    const applied = await migrateDatabase({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA });
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }
  // No default body parsers: workers take no bodies, and the api installs its own (configure).
  const app = await NestFactory.create(opts.module, { logger: new PinoNestLogger(logger), bufferLogs: false, bodyParser: false });
  app.enableShutdownHooks();
  await opts.configure?.(app);
  if (opts.queues.length) {
    const server = new AmqpServer({
      connection: app.get(AmqpConnection),
      dataSource: app.get(DataSource),
      logger: logger.child({ component: 'consumer' }),
      options: messagingOptions(env),
      queues: opts.queues,
    });
    // Before connecting: the microservice inherits global filters only at creation.
    app.useGlobalFilters(new RethrowRpcExceptionFilter(app.getHttpAdapter()));
    app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
    await app.startAllMicroservices();
  }
  await app.init(); // lifecycle hooks (outbox relay, timers) even without an HTTP port
  if (opts.port > 0) await app.listen(opts.port, env.HOST);
  logger.info({ port: opts.port || undefined, queues: opts.queues }, `${opts.service} ready`);
  return app;
}

/** Logs and exits on a boot failure (bad handler map, unreachable database …). */
export function exitOnBootFailure(logger: Logger): (err: unknown) => never {
  return (err) => {
    logger.fatal({ err }, 'boot failed');
    process.exit(1);
  };
}

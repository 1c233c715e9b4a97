import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AppEnv } from '@pbx/config';
import { PinoNestLogger, type Logger } from '@pbx/observability';
import { ApiModule, type ApiModuleOptions } from './api.module';
import { requestContext } from './audit/request-context';
import { jsonBodyMiddleware } from './common/json-body';
import { securityHeaders } from './common/security-headers';
import { setupOpenApi } from './openapi/openapi';

/** Largest accepted JSON body: configurations are small, private keys at most 16 KiB each. */
export const BODY_LIMIT = '1mb';

/** HTTP wiring shared by main.ts and the tests: security headers, body parsing, OpenAPI docs. */
export function configureApiApp(app: INestApplication, env: AppEnv): void {
  // First, so that every answer (also a refused body) carries them.
  app.use(...securityHeaders());
  app.use(requestContext);
  app.use(jsonBodyMiddleware(BODY_LIMIT));
  const express = app.getHttpAdapter().getInstance() as { disable?: (name: string) => void };
  express.disable?.('x-powered-by');
  setupOpenApi(app, env.DEFAULT_TIMEZONE);
}

/** An initialised (not listening) api app, as tests and benches boot it in-process. */
export async function createApiApp(env: AppEnv, logger: Logger, options: ApiModuleOptions = {}): Promise<INestApplication> {
  // Nest's own body parsers off: configureApiApp installs the strict JSON one.
  const app = await NestFactory.create(ApiModule.forRoot(env, logger, options), { logger: new PinoNestLogger(logger), bufferLogs: false, bodyParser: false });
  app.enableShutdownHooks();
  configureApiApp(app, env);
  await app.init();
  return app;
}

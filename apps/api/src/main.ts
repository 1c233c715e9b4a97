import { join } from 'node:path';
import { exitOnBootFailure, loadEnvOrExit, startApp } from '@pbx/runtime';
import { configureApiApp } from './api-app';
import { ApiModule } from './api.module';

const { env, logger } = loadEnvOrExit('api', process.env);
startApp({
  service: 'api',
  env,
  logger,
  // dist/apps/api/src -> dist/apps/admin (the Vite build of apps/admin).
  module: ApiModule.forRoot(env, logger, { adminUiDir: join(__dirname, '..', '..', 'admin') }),
  queues: [],
  port: env.PORT,
  configure: (app) => configureApiApp(app, env),
}).catch(exitOnBootFailure(logger));

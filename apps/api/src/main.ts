import { exitOnBootFailure, loadEnvOrExit, startApp } from '@pbx/runtime';
import { configureApiApp } from './api-app';
import { ApiModule } from './api.module';

const { env, logger } = loadEnvOrExit('api', process.env);
startApp({
  service: 'api',
  env,
  logger,
  module: ApiModule.forRoot(env, logger),
  queues: [],
  port: env.PORT,
  configure: (app) => configureApiApp(app, env),
}).catch(exitOnBootFailure(logger));

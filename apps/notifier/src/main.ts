import { exitOnBootFailure, loadEnvOrExit, startApp } from '@pbx/runtime';
import { NotifierModule } from './notifier.module';

const { env, logger } = loadEnvOrExit('notifier', process.env);

startApp({
  service: 'notifier',
  env,
  logger,
  module: NotifierModule.forRoot(env, logger),
  queues: ['notifier.events.v1'],
  port: env.HEALTH_PORT,
}).catch(exitOnBootFailure(logger));

import { exitOnBootFailure, loadEnvOrExit, startApp } from '@pbx/runtime';
import { DispatcherModule } from './dispatcher.module';

const { env, logger } = loadEnvOrExit('dispatcher', process.env);
startApp({
  service: 'dispatcher',
  env,
  logger,
  module: DispatcherModule.forRoot(env, logger),
  queues: ['dispatcher.packed.v1', 'dispatcher.deliver.v1'],
  port: env.HEALTH_PORT,
}).catch(exitOnBootFailure(logger));

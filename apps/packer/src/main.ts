import { exitOnBootFailure, loadEnvOrExit, startApp } from '@pbx/runtime';
import { PackerModule } from './packer.module';

const { env, logger } = loadEnvOrExit('packer', process.env);
startApp({
  service: 'packer',
  env,
  logger,
  module: PackerModule.forRoot(env, logger),
  queues: ['packer.jobs.v1', 'archiver.finalize.v1'],
  port: env.HEALTH_PORT,
}).catch(exitOnBootFailure(logger));

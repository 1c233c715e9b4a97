import { exitOnBootFailure, loadEnvOrExit, startApp } from '@pbx/runtime';
import { SchedulerModule } from './scheduler.module';

const { env, logger } = loadEnvOrExit('scheduler', process.env);

startApp({ service: 'scheduler', env, logger, module: SchedulerModule.forRoot(env, logger), queues: [], port: env.HEALTH_PORT }).catch(exitOnBootFailure(logger));

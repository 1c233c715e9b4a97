import { Module } from '@nestjs/common';
import { exitOnBootFailure, loadEnvOrExit, startApp } from '@pbx/runtime';
import { configureApiApp } from './api-app';
import { ApiModule } from './api.module';

async function main(): Promise<void> {
  const { env, logger } = loadEnvOrExit('api', process.env);
  // startApp takes a module class; the api module is dynamic (env-dependent), so wrap it.
  @Module({ imports: [ApiModule.forRoot(env, logger)] })
  class ApiRootModule {}
  await startApp({ service: 'api', env, logger, module: ApiRootModule, queues: [], port: env.PORT, configure: (app) => configureApiApp(app, env) }).catch(
    exitOnBootFailure(logger),
  );
}

void main();

import { Module, type DynamicModule, type OnApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import type { AppEnv } from '@pbx/config';
import { MaintenanceLock } from '@pbx/locking';
import type { Logger } from '@pbx/observability';
import { PostgresPbxSource, type PbxSource } from '@pbx/pbx-source';
import { RunLifecycle } from '@pbx/persistence';
import { CoreModule, REDIS, secretBoxFromEnv } from '@pbx/runtime';
import { ArtifactEncryption } from './artifact-encryption.service';
import { ArchiverService } from './archiver.service';
import { ArchiverFinalizeHandler, PackerJobsHandler } from './packer-jobs.handler';
import { DeferralWatcher } from './deferral-watcher.service';
import { MaintenanceGate } from './maintenance-gate.service';
import { PackerService } from './packer.service';
import { MAINTENANCE_LOCK, PBX_SOURCE, SECRET_BOX } from './packer.tokens';
import { RunStateRepository } from './run-state.repository';

@Injectable()
class PbxSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(PBX_SOURCE) private readonly source: PbxSource) {}
  async onApplicationShutdown(): Promise<void> {
    await this.source.close();
  }
}

@Module({})
export class PackerModule {
  static forRoot(env: AppEnv, logger: Logger): DynamicModule {
    return {
      module: PackerModule,
      imports: [CoreModule.forRoot({ service: 'packer', env, logger, relay: true })],
      controllers: [PackerJobsHandler, ArchiverFinalizeHandler],
      providers: [
        PackerService,
        MaintenanceGate,
        DeferralWatcher,
        ArchiverService,
        RunStateRepository,
        ArtifactEncryption,
        // Opens a configuration's sealed encryption passphrase (docs/encryption.md).
        { provide: SECRET_BOX, useFactory: () => secretBoxFromEnv(env, logger) },
        { provide: RunLifecycle, useFactory: () => new RunLifecycle() },
        PbxSourceCloser,
        {
          provide: PBX_SOURCE,
          useFactory: () =>
            new PostgresPbxSource({
              databaseUrl: env.PBX_DATABASE_URL,
              schema: env.PBX_DATABASE_SCHEMA,
              dataDir: env.PBX_DATA_DIR,
              onIdleConnectionError: (err) => logger.warn({ error: { message: err.message } }, 'PBX database dropped an idle connection; it is replaced on next use'),
            }),
        },
        {
          provide: MAINTENANCE_LOCK,
          inject: [REDIS],
          useFactory: (redis: Redis) => new MaintenanceLock(redis, { key: env.MAINTENANCE_LOCK_KEY, ttlMs: env.MAINTENANCE_LOCK_TTL_MS, logger: logger.child({ component: 'lock' }) }),
        },
      ],
    };
  }
}

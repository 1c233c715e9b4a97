import { Module, type DynamicModule, type OnApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import type { AppEnv } from '@pbx/config';
import { MaintenanceLock } from '@pbx/locking';
import { PbxMetrics, type Logger } from '@pbx/observability';
import { PostgresPbxRestoreTarget, PostgresPbxSource, type PbxSource } from '@pbx/pbx-source';
import { OutboxWriter } from '@pbx/messaging';
import { RestoresRepository, RunLifecycle, RunsRepository } from '@pbx/persistence';
import { RestoreEngine } from '@pbx/restore';
import { DataSource } from 'typeorm';
import { CoreModule, lifecycleMetrics, REDIS, secretBoxFromEnv } from '@pbx/runtime';
import { ArtifactEncryption } from './artifact-encryption.service';
import { ArchiverService } from './archiver.service';
import { ArchiverFinalizeHandler, PackerJobsHandler } from './packer-jobs.handler';
import { DeferralWatcher } from './deferral-watcher.service';
import { MaintenanceGate } from './maintenance-gate.service';
import { PackerService } from './packer.service';
import { MAINTENANCE_LOCK, PBX_SOURCE, RESTORE_ENGINE, RESTORE_TARGET, SECRET_BOX } from './packer.tokens';
import { RestoreJobsHandler } from './restore-jobs.handler';
import { RestoreRunner } from './restore-runner.service';
import { RunStateRepository } from './run-state.repository';

@Injectable()
class PbxSourceCloser implements OnApplicationShutdown {
  constructor(
    @Inject(PBX_SOURCE) private readonly source: PbxSource,
    @Inject(RESTORE_TARGET) private readonly target: PostgresPbxRestoreTarget,
  ) {}
  async onApplicationShutdown(): Promise<void> {
    await this.source.close();
    await this.target.close();
  }
}

@Module({})
export class PackerModule {
  static forRoot(env: AppEnv, logger: Logger): DynamicModule {
    return {
      module: PackerModule,
      imports: [CoreModule.forRoot({ service: 'packer', env, logger, relay: true })],
      controllers: [PackerJobsHandler, ArchiverFinalizeHandler, RestoreJobsHandler],
      providers: [
        PackerService,
        MaintenanceGate,
        DeferralWatcher,
        ArchiverService,
        RunStateRepository,
        ArtifactEncryption,
        // Opens a configuration's sealed encryption passphrase (docs/encryption.md).
        { provide: SECRET_BOX, useFactory: () => secretBoxFromEnv(env, logger) },
        { provide: RunLifecycle, inject: [PbxMetrics], useFactory: (metrics: PbxMetrics) => new RunLifecycle(undefined, lifecycleMetrics(metrics)) },
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
        RestoreRunner,
        { provide: RestoresRepository, inject: [DataSource, OutboxWriter], useFactory: (ds: DataSource, outbox: OutboxWriter) => new RestoresRepository(ds, outbox) },
        // Writes the run of kind safety that keeps a restore's safety backup.
        { provide: RunsRepository, inject: [DataSource, OutboxWriter], useFactory: (ds: DataSource, outbox: OutboxWriter) => new RunsRepository(ds, outbox) },
        {
          provide: RESTORE_TARGET,
          useFactory: () =>
            new PostgresPbxRestoreTarget({
              databaseUrl: env.PBX_DATABASE_URL,
              schema: env.PBX_DATABASE_SCHEMA,
              dataDir: env.PBX_DATA_DIR,
              onIdleConnectionError: (err) => logger.warn({ error: { message: err.message } }, 'PBX database dropped an idle connection; it is replaced on next use'),
            }),
        },
        {
          provide: RESTORE_ENGINE,
          inject: [RESTORE_TARGET, PBX_SOURCE],
          useFactory: (target: PostgresPbxRestoreTarget, source: PbxSource) =>
            new RestoreEngine({ target, source, pbxId: env.PBX_ID, artifactDir: env.ARTIFACT_DIR, lockRetryMs: env.MAINTENANCE_RECHECK_MS }),
        },
        {
          provide: MAINTENANCE_LOCK,
          inject: [REDIS, PbxMetrics],
          useFactory: (redis: Redis, metrics: PbxMetrics) =>
            new MaintenanceLock(redis, {
              key: env.MAINTENANCE_LOCK_KEY,
              ttlMs: env.MAINTENANCE_LOCK_TTL_MS,
              logger: logger.child({ component: 'lock' }),
              // Holders are "<kind>:<run or restore id>": the kind is the label.
              onLeaseEnded: (holder, heldMs) => metrics.lockHeld.observe({ holder: holder.split(':')[0] }, heldMs / 1000),
            }),
        },
      ],
    };
  }
}

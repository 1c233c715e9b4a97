import { Module, type DynamicModule } from '@nestjs/common';
import { mkdir } from 'node:fs/promises';
import type { AppEnv } from '@pbx/config';
import { PbxMetrics, type Logger } from '@pbx/observability';
import { OutboxWriter } from '@pbx/messaging';
import { RestoresRepository, RunLifecycle } from '@pbx/persistence';
import { DataSource } from 'typeorm';
import { CoreModule, lifecycleMetrics, secretBoxFromEnv } from '@pbx/runtime';
import { destinationRegistryFromEnv } from '@pbx/runtime/destinations';
import { ArtifactCleanupService } from './artifact-cleanup.service';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveryService } from './delivery.service';
import { RetentionService } from './retention.service';
import { DispatcherHandler } from './dispatcher.handler';
import { CLOCK, DESTINATION_REGISTRY, SECRET_BOX, systemClock, type Clock } from './dispatcher.tokens';
import { RunFinalizerService } from './run-finalizer.service';
import { RunSweeperService } from './run-sweeper.service';
import { ScheduledVerificationService } from './scheduled-verification.service';
import { RestoreFetchService } from './restore-fetch.service';
import { VerificationHandler } from './verification.handler';
import { VerificationService } from './verification.service';
import { VerificationsRepository } from './verifications.repository';

@Module({})
export class DispatcherModule {
  /** `clock`: what upload windows are judged by (tests pass one they move; the system clock otherwise). */
  static forRoot(env: AppEnv, logger: Logger, options: { clock?: Clock } = {}): DynamicModule {
    return {
      module: DispatcherModule,
      imports: [CoreModule.forRoot({ service: 'dispatcher', env, logger, relay: true })],
      controllers: [DispatcherHandler, VerificationHandler],
      providers: [
        DeliveryService,
        RetentionService,
        DeliveriesRepository,
        { provide: RunLifecycle, inject: [PbxMetrics], useFactory: (metrics: PbxMetrics) => new RunLifecycle(undefined, lifecycleMetrics(metrics)) },
        RunFinalizerService,
        RunSweeperService,
        ArtifactCleanupService,
        VerificationService,
        RestoreFetchService,
        { provide: RestoresRepository, inject: [DataSource, OutboxWriter], useFactory: (ds: DataSource, outbox: OutboxWriter) => new RestoresRepository(ds, outbox) },
        ScheduledVerificationService,
        VerificationsRepository,
        { provide: SECRET_BOX, useFactory: () => secretBoxFromEnv(env, logger) },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        {
          provide: DESTINATION_REGISTRY,
          useFactory: async () => {
            // The "server hard drive" root is ours to create; a USB root is not (unplugged = mountfail).
            await mkdir(env.LOCAL_BACKUP_ROOT, { recursive: true });
            return destinationRegistryFromEnv(env);
          },
        },
      ],
    };
  }
}

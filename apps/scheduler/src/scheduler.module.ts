import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AppEnv } from '@pbx/config';
import { OutboxWriter } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';
import { RunsRepository, scheduleChannel } from '@pbx/persistence';
import { CoreModule } from '@pbx/runtime';
import { ScheduleClaimer, type ScheduleClaimerOptions } from './schedule-claimer.service';
import { ScheduleLoopService } from './schedule-loop.service';
import { ScheduleRepository } from './schedule.repository';

/** Knobs tests (and the bench) turn; production uses the defaults. */
export interface SchedulerModuleOptions extends ScheduleClaimerOptions {
  /** Batches claimed in parallel per replica. */
  concurrency?: number;
}

const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_CONCURRENCY = 4;

/**
 * The scheduler app: the schedule loop plus the outbox relay that publishes the due
 * events it writes. No consumers, no HTTP besides the optional health port.
 */
@Module({})
export class SchedulerModule {
  static forRoot(env: AppEnv, logger: Logger, options: SchedulerModuleOptions = {}): DynamicModule {
    const log = logger.child({ component: 'scheduler' });
    return {
      module: SchedulerModule,
      imports: [CoreModule.forRoot({ service: 'scheduler', env, logger, relay: true })],
      providers: [
        { provide: ScheduleRepository, inject: [DataSource], useFactory: (ds: DataSource) => new ScheduleRepository(ds) },
        { provide: RunsRepository, inject: [DataSource, OutboxWriter], useFactory: (ds: DataSource, outbox: OutboxWriter) => new RunsRepository(ds, outbox) },
        {
          provide: ScheduleClaimer,
          inject: [DataSource, ScheduleRepository, RunsRepository],
          useFactory: (ds: DataSource, schedules: ScheduleRepository, runs: RunsRepository) => new ScheduleClaimer(ds, schedules, runs, log, { batchSize: DEFAULT_BATCH_SIZE, ...options }),
        },
        {
          provide: ScheduleLoopService,
          inject: [ScheduleClaimer, ScheduleRepository],
          useFactory: (claimer: ScheduleClaimer, schedules: ScheduleRepository) =>
            new ScheduleLoopService(claimer, schedules, {
                maxSleepMs: env.SCHEDULER_MAX_SLEEP_MS,
                databaseUrl: env.DATABASE_URL,
                channel: scheduleChannel(env.DATABASE_SCHEMA),
                concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
              }, log),
        },
      ],
      exports: [ScheduleClaimer, ScheduleLoopService, ScheduleRepository],
    };
  }
}

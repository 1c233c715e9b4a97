import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import type { Logger } from '@pbx/observability';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { DeliveriesRepository } from './deliveries.repository';
import { RunFinalizerService } from './run-finalizer.service';

/** Runs closed per pass; the next pass takes the rest. */
const SWEEP_BATCH = 100;

/**
 * The safety net behind the redelivered last delivery: every RUN_SWEEP_INTERVAL_MS it closes
 * runs whose deliveries are all final but which are still dispatching (the close failed and
 * its message was lost or dead-lettered). It closes them the way the last delivery does,
 * under the run's row lock and through RunLifecycle's conditional transition, so replicas
 * sweeping at once, or a sweep racing a delivery, close a run once and announce it once.
 */
@Injectable()
export class RunSweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<number>;

  constructor(
    private readonly repo: DeliveriesRepository,
    private readonly finalizer: RunFinalizerService,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'run sweep failed; the next one tries again');
          return 0;
        })
        .finally(() => (this.sweeping = undefined));
    }, this.env.RUN_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Closes what it finds; returns how many runs this pass closed. */
  async sweep(): Promise<number> {
    let closed = 0;
    for (const runId of await this.repo.findUnclosedRuns(SWEEP_BATCH)) {
      try {
        if (!(await this.finalizer.finalizeIfDone(runId))) continue;
        closed++;
        this.logger.warn({ correlationId: runId }, 'closed a run whose deliveries were all final but which was still dispatching');
      } catch (err) {
        this.logger.warn({ correlationId: runId, err }, 'could not close a run whose deliveries are all final; the next sweep tries again');
      }
    }
    return closed;
  }
}

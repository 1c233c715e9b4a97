import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import { MaintenanceLock } from '@pbx/locking';
import type { Logger } from '@pbx/observability';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { parseMaintenanceHolder, resumesEarly } from './deferral-rule';
import { MAINTENANCE_LOCK } from './packer.tokens';
import { RunStateRepository } from './run-state.repository';

/** Waiting runs looked at per pass. */
const BATCH = 100;

/**
 * Ends deferrals early. Every MAINTENANCE_RECHECK_MS it looks at the runs whose message a
 * deferral holds back and at who holds the lock now; a run whose holder let go (a run of
 * the same kind finished, a holder died and its lease expired) or left its lock behind gets
 * its message at once (resumesEarly, deferral-rule.ts). Replicas may do this at once: only
 * one brings a message forward, and the gate decides again when it arrives.
 */
@Injectable()
export class DeferralWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private checking?: Promise<number>;

  constructor(
    private readonly runs: RunStateRepository,
    @Inject(MAINTENANCE_LOCK) private readonly lock: MaintenanceLock,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.checking ??= this.recheck()
        .catch((err: unknown) => {
          this.logger.warn({ err: err instanceof Error ? err.message : err }, 'deferral recheck failed; the next one tries again');
          return 0;
        })
        .finally(() => (this.checking = undefined));
    }, this.env.MAINTENANCE_RECHECK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  /** One pass; returns how many waiting runs it let go now. */
  async recheck(): Promise<number> {
    const waiting = await this.runs.waitingRuns(BATCH);
    if (!waiting.length) return 0;
    const current = await this.lock.currentHolder(); // unreachable: throws, the next pass tries again
    let resumed = 0;
    for (const run of waiting) {
      const holder = parseMaintenanceHolder(run.heldBy);
      const state = holder ? await this.runs.holderRunState(holder.runId) : null;
      if (!resumesEarly(run.kind, run.heldBy, state, current)) continue;
      if (!(await this.runs.resumeNow(run.runId))) continue;
      resumed++;
      this.logger.info({ correlationId: run.runId, heldBy: run.heldBy, lockHeldBy: current }, 'the maintenance lock a deferred run waited for is free; it goes now');
    }
    return resumed;
  }
}

import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import type { Logger } from '@pbx/observability';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { VerificationsRepository } from './verifications.repository';
import { nextVerificationAt } from './verify-schedule';

/**
 * A configuration's verify.schedule: every VERIFY_SCHEDULE_CHECK_MS it asks for a read-back of
 * the newest copy at each destination whose next check (verify-schedule.ts) is due. The work
 * itself is an ordinary backup.verify-requested, so replicas compete for it as for uploads.
 */
@Injectable()
export class ScheduledVerificationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private passing?: Promise<number>;

  constructor(
    private readonly repo: VerificationsRepository,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.passing ??= this.pass()
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'scheduled verification pass failed; the next one tries again');
          return 0;
        })
        .finally(() => (this.passing = undefined));
    }, this.env.VERIFY_SCHEDULE_CHECK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.passing;
  }

  /** Returns how many read-backs this pass asked for. */
  async pass(now = new Date()): Promise<number> {
    let asked = 0;
    for (const copy of await this.repo.scheduledCopies()) {
      const dueAt = nextVerificationAt(copy);
      if (!dueAt || dueAt > now) continue;
      if (await this.repo.requestScheduled(copy, dueAt)) asked++;
    }
    if (asked) this.logger.info({ asked }, 'scheduled read-back of stored copies requested');
    return asked;
  }
}

import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { PgListener } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';
import type { ScheduleClaimer } from './schedule-claimer.service';
import type { ScheduleRepository } from './schedule.repository';

export interface ScheduleLoopOptions {
  /** Longest sleep between passes (SCHEDULER_MAX_SLEEP_MS): bounds the delay when a NOTIFY is lost. */
  maxSleepMs: number;
  /** For the dedicated LISTEN connection. */
  databaseUrl: string;
  /** NOTIFY channel of schedule changes (`scheduleChannel(DATABASE_SCHEMA)`). */
  channel: string;
  /**
   * Batches claimed in parallel (each its own transaction and connection). Emitting is a
   * chain of round trips per run, so parallel batches overlap the waiting; SKIP LOCKED
   * gives them disjoint rows. Keep below the DataSource pool size.
   */
  concurrency?: number;
  /** Pause when due rows exist but other replicas hold them all. */
  busyRetryMs?: number;
  /** Pause after a failed pass (database down …). */
  errorRetryMs?: number;
}

/**
 * The scheduler's heartbeat: claim what is due, then sleep until the earliest next_run_at
 * (capped by maxSleepMs) or until a NOTIFY says a schedule changed. Stopping lets the
 * transaction in hand commit or roll back before it returns.
 */
export class ScheduleLoopService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private running = false;
  private loop?: Promise<void>;
  /** A wake-up that came while a pass was running: the next sleep returns at once. */
  private woken = false;
  private wakeSleeper?: () => void;
  private sleeping = false;
  private readonly listener: PgListener;
  private readonly busyRetryMs: number;
  private readonly errorRetryMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly claimer: ScheduleClaimer,
    private readonly schedules: ScheduleRepository,
    private readonly options: ScheduleLoopOptions,
    private readonly logger: Logger,
  ) {
    this.busyRetryMs = options.busyRetryMs ?? 100;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.errorRetryMs = options.errorRetryMs ?? Math.min(1000, options.maxSleepMs);
    // While it is down the loop still wakes every SCHEDULER_MAX_SLEEP_MS.
    this.listener = new PgListener({ databaseUrl: options.databaseUrl, channel: options.channel, applicationName: 'pbx-backup-scheduler-listen', onNotify: () => this.wake() }, logger);
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  // Before the shutdown hooks, so the relay and the DataSource are still up while we finish.
  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.listener.start();
    this.loop = this.run();
    this.logger.info({ maxSleepMs: this.options.maxSleepMs, batchSize: this.claimer.batchSize }, 'scheduler loop started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await this.listener.stop();
    this.logger.info('scheduler loop stopped');
  }

  /** Between passes, waiting for the next slot or a NOTIFY. */
  get isSleeping(): boolean {
    return this.sleeping;
  }

  /** The LISTEN connection is up (NOTIFY wakes the loop at once). */
  get isListening(): boolean {
    return this.listener.isListening;
  }

  /** Re-check now (a schedule changed, or a test moved the clock). */
  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let delayMs: number;
      try {
        const locked = await this.claimInParallel();
        delayMs = await this.msUntilNextSlot();
        // Still due after a pass: rows another replica holds (wait for it) or ones that
        // just became due (claim again at once).
        if (delayMs <= 0) delayMs = locked > 0 ? 0 : this.busyRetryMs;
      } catch (err) {
        this.logger.error({ err: err instanceof Error ? err.message : err }, 'schedule pass failed; retrying');
        delayMs = this.errorRetryMs;
      }
      if (delayMs > 0) await this.sleep(Math.min(delayMs, this.options.maxSleepMs));
    }
  }

  /** Claims with `concurrency` workers until none finds a full batch; returns how many rows were locked. */
  private async claimInParallel(): Promise<number> {
    let locked = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const result = await this.claimer.claimBatch();
        locked += result.locked;
        if (result.locked < this.claimer.batchSize || !this.running) return;
      }
    };
    const outcomes = await Promise.allSettled(Array.from({ length: this.concurrency }, worker));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    return locked;
  }

  private async msUntilNextSlot(): Promise<number> {
    const next = await this.schedules.earliestNextRunAt();
    if (!next) return this.options.maxSleepMs;
    return next.getTime() - this.claimer.now().getTime();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.woken || !this.running) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        this.sleeping = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
      this.sleeping = true;
    });
  }
}

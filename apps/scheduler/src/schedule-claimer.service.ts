import type { DataSource, EntityManager } from 'typeorm';
import type { ConfigurationKind } from '@pbx/contracts';
import { withCorrelation, type Logger } from '@pbx/observability';
import type { ConfigurationEntity, RunsRepository } from '@pbx/persistence';
import { DEFAULT_CATCH_UP_GRACE_MS, planClaim, type ClaimPlan, type SlotEmission } from './claim-plan';
import type { NextRunUpdate, ScheduleRepository } from './schedule.repository';

export interface ScheduleClaimerOptions {
  /** Configurations claimed per transaction. */
  batchSize?: number;
  /** A slot at most this late is a normal run; later (or several missed) is a catch-up. */
  graceMs?: number;
  /** The clock (tests simulate hours of slots with it). */
  now?: () => Date;
}

export interface EmittedRun extends SlotEmission {
  runId: string;
  configurationId: string;
  kind: ConfigurationKind;
}

export interface ClaimResult {
  /** Due rows this pass locked (equal to the batch size: more may be due). */
  locked: number;
  emitted: EmittedRun[];
  /** Slots whose run already existed (runs_slot_unique): next_run_at moved, no second run. */
  alreadyEmitted: number;
  /** Rows re-aligned to the grid without a run, or disabled (next_run_at = NULL). */
  advanced: number;
  disabled: number;
}

type Planned = { configuration: ConfigurationEntity; plan: ClaimPlan };
type EmitOutcome = { emitted: EmittedRun[]; alreadyEmitted: number };

/**
 * Turns due slots into runs. One transaction per batch: the due rows are locked
 * (FOR UPDATE SKIP LOCKED), each gets at most one run (+ its due event, via the outbox;
 * the batch's runs are written in bulk) and its next_run_at moved past now, and all of it
 * commits together. A replica that dies mid-batch commits nothing, so another one emits
 * those slots; two replicas never hold the same row, and the slot's unique index stops a
 * double even if something else goes wrong.
 */
export class ScheduleClaimer {
  readonly batchSize: number;
  private readonly graceMs: number;
  readonly now: () => Date;

  constructor(
    private readonly dataSource: DataSource,
    private readonly schedules: ScheduleRepository,
    private readonly runs: RunsRepository,
    private readonly logger: Logger,
    options: ScheduleClaimerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.graceMs = options.graceMs ?? DEFAULT_CATCH_UP_GRACE_MS;
    this.now = options.now ?? (() => new Date());
  }

  /** Claims one batch of due configurations. */
  async claimBatch(): Promise<ClaimResult> {
    const now = this.now();
    const started = Date.now();
    const result = await this.dataSource.transaction(async (tx) => {
      const rows = await this.schedules.lockDue(tx, now, this.batchSize);
      if (!rows.length) return { locked: 0, emitted: [], alreadyEmitted: 0, advanced: 0, disabled: 0, planned: [] as Planned[] };
      const planned = rows.map((configuration) => ({
        configuration,
        // lockDue only returns rows with next_run_at <= now, never NULL.
        plan: planClaim({ interval: configuration.interval, startAt: configuration.startAt, timezone: configuration.timezone, nextRunAt: configuration.nextRunAt ?? now }, now, this.graceMs),
      }));
      const { emitted, alreadyEmitted } = await this.emitAll(tx, planned);
      await this.schedules.setNextRunAt(tx, planned.map(({ configuration, plan }): NextRunUpdate => ({ id: configuration.id, nextRunAt: plan.action === 'disable' ? null : plan.nextRunAt })));
      return {
        locked: rows.length,
        emitted,
        alreadyEmitted,
        advanced: planned.filter((p) => p.plan.action === 'advance').length,
        disabled: planned.filter((p) => p.plan.action === 'disable').length,
        planned,
      };
    });
    if (result.locked) this.logger.debug({ locked: result.locked, emitted: result.emitted.length, ms: Date.now() - started }, 'schedule batch committed');
    // Logged after commit: a rolled-back batch emitted nothing.
    for (const run of result.emitted) {
      withCorrelation(run.runId, () =>
        this.logger.info(
          { configurationId: run.configurationId, kind: run.kind, scheduledFor: run.scheduledFor.toISOString(), catchUp: run.catchUp, slots: run.slots, lateMs: run.lateMs },
          run.catchUp ? 'catch-up run emitted' : 'scheduled run emitted',
        ),
      );
    }
    for (const { configuration, plan } of result.planned) {
      if (plan.action === 'disable' && plan.reason === 'invalid') {
        this.logger.error({ configurationId: configuration.id, err: plan.message }, 'schedule cannot be interpreted; configuration no longer runs on its own');
      }
    }
    if (result.alreadyEmitted) this.logger.warn({ count: result.alreadyEmitted }, 'slots already had their run; advanced without a second one');
    const { planned: _planned, ...summary } = result;
    return summary;
  }

  /** Claims batches until none is full (everything due now that no other replica holds). */
  async claimAllDue(): Promise<ClaimResult> {
    const total: ClaimResult = { locked: 0, emitted: [], alreadyEmitted: 0, advanced: 0, disabled: 0 };
    for (;;) {
      const r = await this.claimBatch();
      total.locked += r.locked;
      total.emitted.push(...r.emitted);
      total.alreadyEmitted += r.alreadyEmitted;
      total.advanced += r.advanced;
      total.disabled += r.disabled;
      if (r.locked < this.batchSize) return total;
    }
  }

  /**
   * Creates the runs of a batch in one bulk call. A slot that already has its run
   * (runs_slot_unique; the row locks make that a bug elsewhere) is skipped by the insert,
   * not raised, so it just counts as already emitted and the rest of the batch commits.
   */
  private async emitAll(tx: EntityManager, planned: Planned[]): Promise<EmitOutcome> {
    const emits = planned.flatMap(({ configuration, plan }) => (plan.action === 'emit' ? [{ configuration, emit: plan.emit }] : []));
    if (!emits.length) return { emitted: [], alreadyEmitted: 0 };
    const created = await this.runs.createRuns(
      tx,
      emits.map(({ configuration, emit }) => ({ configuration, trigger: 'schedule', scheduledFor: emit.scheduledFor, catchUp: emit.catchUp })),
    );
    // lockDue returns each configuration once, so its id identifies the slot in this batch.
    const byConfiguration = new Map(created.map((run) => [run.configurationId, run]));
    const emitted: EmittedRun[] = [];
    for (const { configuration, emit } of emits) {
      const run = byConfiguration.get(configuration.id);
      if (run) emitted.push({ ...emit, runId: run.id, configurationId: configuration.id, kind: configuration.kind });
    }
    return { emitted, alreadyEmitted: emits.length - emitted.length };
  }
}

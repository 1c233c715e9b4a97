import { Inject, Injectable } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import type { RunKind } from '@pbx/contracts';
import { LockUnavailableError, MaintenanceLock, type MaintenanceLease } from '@pbx/locking';
import { PbxMetrics, type Logger } from '@pbx/observability';
import { FINAL_RUN_STATUSES, type RunEntity } from '@pbx/persistence';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { deferralFor, holderIsDone, maintenanceHolder, parseMaintenanceHolder, type Deferral as DeferralRule } from './deferral-rule';
import { MAINTENANCE_LOCK } from './packer.tokens';
import { RunStateRepository } from './run-state.repository';

/** A run that cannot reach the lock service waits this long, visibly, before it tries again. */
const LOCK_UNAVAILABLE_RETRY_MS = 30_000;

/**
 * A due event that has nothing left to do: its step already finished, or it is an older
 * copy of a deferred run's event (the held-back one arrives at `deferredUntil`).
 */
export function isStaleDue(run: RunEntity): boolean {
  if (FINAL_RUN_STATUSES.includes(run.status) || run.packedAt) return true;
  return run.status === 'deferred' && !!run.deferredUntil && run.deferredUntil.getTime() > Date.now() + 1000;
}

/** Records a deferral of `run` by `delayMs` (held by `heldBy`) and returns until when. */
export type Defer = (delayMs: number, heldBy: string | null) => Promise<Date>;

/**
 * The one way into PBX maintenance for backup packing and archiving: take the lock under the
 * run's own name (`resume`: a process that crashed while holding it comes back under the same
 * name), take over a lock a finished run left behind, or defer (deferral-rule.ts): by
 * MAINTENANCE_DEFER_MS for archiving against backup, until the lock frees for two runs of
 * one kind (DeferralWatcher ends those waits early), briefly when Redis is unreachable.
 * Never proceeds without the lock.
 */
@Injectable()
export class MaintenanceGate {
  constructor(
    @Inject(MAINTENANCE_LOCK) private readonly lock: MaintenanceLock,
    private readonly runs: RunStateRepository,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly metrics: PbxMetrics,
  ) {}

  /** `deferrals`: the run's earlier waits; the first one's start is when its wait for the lock began (metrics). */
  async enter(run: { id: string; kind: RunKind; deferrals?: readonly { at: string }[] | null }, defer: Defer): Promise<MaintenanceLease | null> {
    const holder = maintenanceHolder(run.kind, run.id);
    try {
      for (let attempt = 1; ; attempt++) {
        const res = await this.lock.acquireLease(holder, { resume: true });
        if (res.acquired) {
          const since = run.deferrals?.length ? Date.parse(run.deferrals[0].at) : Date.now();
          this.metrics.lockWait.observe({ holder: run.kind }, Math.max(0, Date.now() - since) / 1000);
          return res.lease;
        }
        const rule = await this.judge(run.kind, res.heldBy);
        // One take-over per entry: a second stale holder right after is someone else's race.
        if (rule.action === 'takeOver' && attempt === 1 && res.heldBy) {
          if (await this.lock.releaseHeldBy(res.heldBy)) this.logger.warn({ holder, heldBy: res.heldBy }, 'released a maintenance lock its finished run had left behind');
          continue;
        }
        // Both kinds of wait are held back by the delay; DeferralWatcher ends a wait for a run
        // of the same kind (or a holder that died) as soon as the lock frees.
        const until = await defer(this.env.MAINTENANCE_DEFER_MS, res.heldBy);
        this.logger.info({ holder, heldBy: res.heldBy, until, waits: rule.action === 'defer' ? rule.until : 'lockFrees' }, 'PBX maintenance lock held; deferred');
        return null;
      }
    } catch (err) {
      if (!(err instanceof LockUnavailableError)) throw err;
      const until = await defer(Math.min(LOCK_UNAVAILABLE_RETRY_MS, this.env.MAINTENANCE_DEFER_MS), 'lock service unavailable');
      this.logger.warn({ holder, err: err.message, until }, 'maintenance lock service unavailable; not proceeding without the lock, deferred');
      return null;
    }
  }

  /**
   * A message of a run whose work is over came back (the process crashed between finishing
   * and releasing): the lock it may still hold under its name goes now, not after its ttl.
   */
  async releaseLeftBehind(run: RunEntity): Promise<void> {
    if (!holderIsDone(run.kind, { status: run.status, packed: run.packedAt !== null })) return;
    const holder = maintenanceHolder(run.kind, run.id);
    try {
      if (await this.lock.releaseHeldBy(holder)) this.logger.warn({ holder }, 'released the maintenance lock this finished run had left behind');
    } catch (err) {
      this.logger.warn({ holder, err: err instanceof Error ? err.message : err }, 'could not release a maintenance lock left behind; it expires after its ttl');
    }
  }

  private async judge(mine: RunKind, heldBy: string | null): Promise<DeferralRule> {
    const other = parseMaintenanceHolder(heldBy);
    return deferralFor(mine, heldBy, other ? await this.runs.holderRunState(other.runId) : null);
  }
}

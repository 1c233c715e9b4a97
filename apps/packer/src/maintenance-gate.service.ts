import { Inject, Injectable } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import { LockUnavailableError, MaintenanceLock, type MaintenanceLease } from '@pbx/locking';
import type { Logger } from '@pbx/observability';
import { FINAL_RUN_STATUSES, type RunEntity } from '@pbx/persistence';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { MAINTENANCE_LOCK } from './packer.tokens';

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
 * name), or defer — by MAINTENANCE_DEFER_MS when someone holds it, briefly when Redis is
 * unreachable. Never proceeds without the lock.
 */
@Injectable()
export class MaintenanceGate {
  constructor(
    @Inject(MAINTENANCE_LOCK) private readonly lock: MaintenanceLock,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async enter(holder: string, defer: Defer): Promise<MaintenanceLease | null> {
    try {
      const res = await this.lock.acquireLease(holder, { resume: true });
      if (res.acquired) return res.lease;
      const until = await defer(this.env.MAINTENANCE_DEFER_MS, res.heldBy);
      this.logger.info({ holder, heldBy: res.heldBy, until }, 'PBX maintenance lock held; deferred');
    } catch (err) {
      if (!(err instanceof LockUnavailableError)) throw err;
      const until = await defer(Math.min(LOCK_UNAVAILABLE_RETRY_MS, this.env.MAINTENANCE_DEFER_MS), 'lock service unavailable');
      this.logger.warn({ holder, err: err.message, until }, 'maintenance lock service unavailable; not proceeding without the lock, deferred');
    }
    return null;
  }
}

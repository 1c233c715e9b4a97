import { setTimeout as delay } from 'node:timers/promises';
import { LockUnavailableError, type MaintenanceLease } from '@pbx/locking';
import type { RestoreLock } from './restore.types';

/**
 * Takes the PBX maintenance lock like the packer's gate (`resume`: a restorer that crashed
 * holding it comes back under the same holder name), but waits instead of deferring: a
 * restore is an admin's action in progress, so it polls every `retryMs` and says who it
 * waits for. Never proceeds without the lock.
 */
export async function enterMaintenance(
  lock: RestoreLock,
  holder: string,
  options: { retryMs: number; signal?: AbortSignal; onWaiting: (heldBy: string | null) => void },
): Promise<MaintenanceLease> {
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const res = await lock.acquireLease(holder, { resume: true });
      if (res.acquired) return res.lease;
      options.onWaiting(res.heldBy);
    } catch (err) {
      if (!(err instanceof LockUnavailableError)) throw err;
      options.onWaiting('lock service unavailable');
    }
    await delay(options.retryMs, undefined, { signal: options.signal });
  }
}

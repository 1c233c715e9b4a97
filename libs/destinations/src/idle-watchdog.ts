import { DeliveryError } from './delivery';

export interface IdleWatchdog {
  /** Something moved: the idle clock starts again. */
  touch(): void;
  /** Rejects with a transient `timeout` once nothing moved for the idle time; never resolves. */
  readonly expired: Promise<never>;
  readonly fired: boolean;
  dispose(): void;
}

/**
 * Aborts a transfer whose peer stopped answering: a stalled server (a frozen process, a
 * network path that drops everything) never closes the connection, so without this the
 * delivery would hang for ever. `onIdle` tears the connection or child down.
 */
export function idleWatchdog(idleMs: number, what: string, onIdle: () => void): IdleWatchdog {
  let last = Date.now();
  let fired = false;
  let reject: (err: DeliveryError) => void = () => undefined;
  const expired = new Promise<never>((_, r) => (reject = r));
  expired.catch(() => undefined);
  const timer = setInterval(
    () => {
      if (Date.now() - last < idleMs) return;
      fired = true;
      clearInterval(timer);
      onIdle();
      reject(new DeliveryError('timeout', `${what}: nothing moved for ${idleMs} ms (the server stopped answering)`, false));
    },
    Math.max(10, Math.min(1000, Math.floor(idleMs / 4))),
  );
  timer.unref();
  return {
    touch: () => (last = Date.now()),
    expired,
    get fired() {
      return fired;
    },
    dispose: () => clearInterval(timer),
  };
}

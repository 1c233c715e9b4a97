import type { RunStatus } from '@pbx/contracts';

/**
 * How often a packing or uploading worker reads its run's status: a cancel takes effect within
 * about this long (one primary-key read per running job and second costs nothing noticeable).
 */
export const CANCEL_CHECK_MS = 1000;

/** A worker's view of whether the run it holds was cancelled meanwhile. */
export interface CancelWatch {
  /** Aborts once the run is seen `cancelled`; pass it to the work (writeSar, an adapter's deliver). */
  readonly signal: AbortSignal;
  readonly cancelled: boolean;
  stop(): void;
}

/**
 * Reads the run's status every `intervalMs` and aborts `signal` once it is `cancelled`. The
 * row is the truth, not a message: a worker busy with a long pack or upload takes no new
 * message from its queue, but its timer still fires between chunks. A failed read is
 * ignored (the next one tries again); the work's own safe points then see the abort.
 */
export function watchForCancel(readStatus: () => Promise<RunStatus | null>, intervalMs: number): CancelWatch {
  const controller = new AbortController();
  let reading = false;
  const check = async () => {
    if (reading || controller.signal.aborted) return;
    reading = true;
    try {
      if ((await readStatus()) === 'cancelled') controller.abort(new RunCancelledError());
    } catch {
      /* the next tick reads again */
    } finally {
      reading = false;
    }
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return {
    signal: controller.signal,
    get cancelled() {
      return controller.signal.aborted;
    },
    stop: () => clearInterval(timer),
  };
}

/** The abort reason of a cancelled run's work (not a failure: nothing is retried or reported). */
export class RunCancelledError extends Error {
  constructor() {
    super('the run was cancelled');
    this.name = 'RunCancelledError';
  }
}

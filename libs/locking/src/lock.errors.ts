/**
 * Redis could not be asked (down, unreachable, timed out). Distinct from "held": callers
 * must not start work without the lock, and should retry later rather than defer as if
 * someone else were working.
 */
export class LockUnavailableError extends Error {
  readonly code = 'LOCK_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockUnavailableError';
  }
}

/** The lease ran out or was taken over while work was running: exclusivity is gone. */
export class LockLostError extends Error {
  readonly code = 'LOCK_LOST';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockLostError';
  }
}

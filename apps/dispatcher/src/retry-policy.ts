/**
 * When a delivery tries again after a failure — the delivery's own policy, not the message
 * transport's (whose few quick retries are for infrastructure faults: database down, crash).
 * A 45 s SFTP outage must not end a backup that may keep trying for hours.
 */
export interface RetryPolicy {
  /** How long after its first failure a delivery keeps trying (DELIVERY_RETRY_FOR_MS). */
  retryForMs: number;
  /** The wait after the first failure; doubles per attempt (DELIVERY_RETRY_FIRST_DELAY_MS). */
  firstDelayMs: number;
  /** The longest wait, also the cap on a server's Retry-After (DELIVERY_RETRY_MAX_DELAY_MS). */
  maxDelayMs: number;
  /** Optional cap on attempts (DELIVERY_MAX_ATTEMPTS); undefined: the time alone decides. */
  maxAttempts?: number;
}

/** What the delivery has behind it when an attempt failed. */
export interface AttemptHistory {
  /** Attempts made, the failed one included. */
  attempts: number;
  /** The first failure of these attempts; null when this is the first. */
  failingSince: Date | null;
}

/** The failure, as far as the policy cares. */
export interface AttemptFailure {
  permanent: boolean;
  /** The server asked to wait this long (HTTP Retry-After, Dropbox's retry_after). */
  retryAfterMs?: number;
}

export type GiveUpReason = 'permanent' | 'retry time spent' | 'attempts spent';
export type NextAttempt = { retryAt: Date; failingSince: Date } | { giveUp: GiveUpReason };

/**
 * The next attempt after a failed one, or why there is none. Pure: `random` (0 ≤ r < 1) draws
 * the jitter. Back-off: firstDelay · 2^(attempts-1), capped at maxDelay, then jittered to half
 * to all of it (replicas that failed together do not come back together). A Retry-After is
 * honoured as asked, up to maxDelay. The last attempt is placed at the end of the budget
 * rather than given up early, so the whole configured time is used.
 */
export function nextAttempt(history: AttemptHistory, failure: AttemptFailure, now: Date, policy: RetryPolicy, random: () => number = Math.random): NextAttempt {
  if (failure.permanent) return { giveUp: 'permanent' };
  if (policy.maxAttempts !== undefined && history.attempts >= policy.maxAttempts) return { giveUp: 'attempts spent' };
  const failingSince = history.failingSince ?? now;
  const deadline = failingSince.getTime() + policy.retryForMs;
  if (now.getTime() >= deadline) return { giveUp: 'retry time spent' };
  const backoff = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(Math.max(history.attempts - 1, 0), 40));
  const delay =
    failure.retryAfterMs !== undefined && failure.retryAfterMs >= 0
      ? Math.min(failure.retryAfterMs, policy.maxDelayMs)
      : backoff / 2 + (backoff / 2) * random();
  return { retryAt: new Date(Math.min(now.getTime() + Math.round(delay), deadline)), failingSince };
}

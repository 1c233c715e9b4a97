export interface RetryPolicy {
  /** Attempts in all (the first try included) before a message is dead-lettered. */
  maxAttempts: number;
  /** Delay before the first retry; each further retry waits twice as long. */
  initialDelayMs: number;
}

export interface MessagingOptions {
  amqpUrl: string;
  /** Prefix of every exchange and queue name (tests, side-by-side installs). */
  namespace: string;
  prefetch: number;
  /** Per-queue prefetch (e.g. the packer takes one run at a time). */
  prefetchByQueue?: Partial<Record<string, number>>;
  retry: RetryPolicy;
  /** Per-queue overrides of the retry policy. */
  retryByQueue?: Partial<Record<string, RetryPolicy>>;
  /** Postgres schema of the outbox/inbox (for the NOTIFY channel name). */
  databaseSchema: string;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/** Delay before retry number `retry` (1-based): initial, 2x, 4x, … */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  return policy.initialDelayMs * 2 ** (retry - 1);
}

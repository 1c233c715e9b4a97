import { RateLimitedError } from '../auth/auth-failures.service';

/**
 * At most `limit` operations in flight per key (a token). One more is refused at once with
 * 429 rather than queued: queued tests would still pile up connections.
 */
export class InFlightLimit {
  private readonly running = new Map<string, number>();

  constructor(
    private readonly limit: number,
    /** When a slot is free again at the latest (the operation's hard timeout). */
    private readonly retryAfterSeconds: number,
  ) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const n = this.running.get(key) ?? 0;
    if (n >= this.limit) throw new RateLimitedError(`at most ${this.limit} destination tests may run at once per token; try again when one has finished`, this.retryAfterSeconds);
    this.running.set(key, n + 1);
    try {
      return await fn();
    } finally {
      const left = (this.running.get(key) ?? 1) - 1;
      if (left) this.running.set(key, left);
      else this.running.delete(key);
    }
  }
}

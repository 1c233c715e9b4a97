/** At most one progress write per this many ms (the admin UI's live view needs no more). */
export const PROGRESS_WRITE_EVERY_MS = 500;
/** …and, when the total is known, only after at least this share of it moved. */
export const PROGRESS_WRITE_EVERY_FRACTION = 0.01;

export interface ProgressThrottleOptions {
  everyMs?: number;
  everyFraction?: number;
  now?: () => number;
}

/**
 * Turns a stream of "n bytes done" reports into few writes: at most one per `everyMs`, only
 * after 1 % of a known total moved (so ≤ ~100 per phase however large the file), and never
 * two at once (a slow database sees no pile-up; a report meanwhile is dropped, the next
 * one carries the newer count). The final count is written by the status change that ends
 * the phase, not here. Write failures are swallowed: progress is a view, not state.
 */
export class ProgressThrottle {
  private lastAt = Number.NEGATIVE_INFINITY;
  private lastDone: number | null = null;
  private inFlight = false;
  private readonly everyMs: number;
  private readonly everyFraction: number;
  private readonly now: () => number;

  constructor(
    private readonly write: (done: number) => Promise<unknown>,
    private readonly total: number | null,
    options: ProgressThrottleOptions = {},
  ) {
    this.everyMs = options.everyMs ?? PROGRESS_WRITE_EVERY_MS;
    this.everyFraction = options.everyFraction ?? PROGRESS_WRITE_EVERY_FRACTION;
    this.now = options.now ?? Date.now;
  }

  report(done: number): void {
    if (!this.due(done)) return;
    this.lastAt = this.now();
    this.lastDone = done;
    this.inFlight = true;
    void this.write(done)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
      });
  }

  private due(done: number): boolean {
    if (this.inFlight || this.now() - this.lastAt < this.everyMs) return false;
    if (this.lastDone === null || !this.total) return this.lastDone !== done;
    return Math.abs(done - this.lastDone) >= this.total * this.everyFraction;
  }
}

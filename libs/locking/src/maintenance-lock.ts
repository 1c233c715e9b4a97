import type { Redis } from 'ioredis';
import Redlock, { ExecutionError, Lock, ResourceLockedError } from 'redlock';
import { LockLostError, LockUnavailableError } from './lock.errors';

/** Fallback when no key is given; the apps pass MAINTENANCE_LOCK_KEY, by default keyed by PBX_ID (libs/config). */
export const MAINTENANCE_LOCK_KEY = 'pbx:maintenance';

/** The few logger methods we use; a pino Logger fits. */
export interface LockLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface MaintenanceLockOptions {
  /** Lock key; default "pbx:maintenance". */
  key?: string;
  /** Prepended to the key (tests isolate with a unique prefix). */
  keyPrefix?: string;
  /** Lease length; a holder that stops extending loses the lock after this long. */
  ttlMs: number;
  /** How often a lease extends itself; default ttlMs / 3 (two extensions may fail before expiry). */
  extendEveryMs?: number;
  /** Each Redis round trip fails as "unavailable" after this long; default min(5000, ttlMs / 3). */
  operationTimeoutMs?: number;
  logger?: LockLogger;
  /** Told when a lease ends (released or lost) how long it was held (metrics). */
  onLeaseEnded?: (holder: string, heldMs: number) => void;
}

export interface AcquireOptions {
  /**
   * Take over a lock still held under the SAME holder id (a process that crashed while
   * holding it and now resumes its workflow). Holder ids must therefore be unique per
   * workflow ("archive:<runId>"), never per process kind.
   */
  resume?: boolean;
  /** Extend automatically until released (default true). */
  autoExtend?: boolean;
}

export type AcquireResult =
  | { acquired: true; lease: MaintenanceLease; resumed: boolean }
  | { acquired: false; heldBy: string | null };

export type ExclusiveResult<T> = { acquired: true; value: T } | { acquired: false; heldBy: string | null };

// The side key names the holder. It is written only while the lock value is ours, and it
// carries the lock token so a stale side key never names a holder that lost the lock.
const SET_HOLDER = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('hset', KEYS[2], 'token', ARGV[1], 'holder', ARGV[2])
  redis.call('pexpire', KEYS[2], ARGV[3])
  return 1
end
return 0`;
const DEL_HOLDER = `
if redis.call('hget', KEYS[2], 'token') == ARGV[1] then redis.call('del', KEYS[2]) end
return 0`;
// -> nil when free, else { token, holder or '' , pttl }
const INSPECT = `
local v = redis.call('get', KEYS[1])
if not v then return nil end
local t = redis.call('hget', KEYS[2], 'token')
local h = ''
if t == v then h = redis.call('hget', KEYS[2], 'holder') end
return { v, h, redis.call('pttl', KEYS[1]) }`;

/**
 * The "PBX maintenance" lock: one Redis key held while a backup packs or the PBX archive
 * runs, so the two never work on the PBX at the same time. Built on redlock (quorum over
 * one or more Redis nodes), with leases that extend themselves while their holder lives.
 */
export class MaintenanceLock {
  readonly key: string;
  private readonly holderKey: string;
  private readonly clients: Redis[];
  private readonly redlock: Redlock;
  private readonly ttlMs: number;
  private readonly extendEveryMs: number;
  private readonly timeoutMs: number;

  constructor(
    redis: Redis | Redis[],
    private readonly opts: MaintenanceLockOptions,
  ) {
    this.clients = Array.isArray(redis) ? redis : [redis];
    if (this.clients.length === 0) throw new Error('MaintenanceLock needs at least one Redis client');
    if (!Number.isInteger(opts.ttlMs) || opts.ttlMs < 100) throw new Error('ttlMs must be an integer >= 100');
    this.key = `${opts.keyPrefix ?? ''}${opts.key ?? MAINTENANCE_LOCK_KEY}`;
    this.holderKey = `${this.key}:holder`;
    this.ttlMs = opts.ttlMs;
    this.extendEveryMs = opts.extendEveryMs ?? Math.floor(opts.ttlMs / 3);
    this.timeoutMs = opts.operationTimeoutMs ?? Math.min(5000, Math.floor(opts.ttlMs / 3));
    // One attempt per call: "held" is an answer, not something to wait out here.
    this.redlock = new Redlock(this.clients, { retryCount: 0, driftFactor: 0.01 });
  }

  /** Takes the lock once; null if someone else holds it. Throws LockUnavailableError if Redis cannot be asked. */
  async tryAcquire(holder: string, options: AcquireOptions = {}): Promise<MaintenanceLease | null> {
    const result = await this.acquireLease(holder, options);
    return result.acquired ? result.lease : null;
  }

  /** Takes the lock once (or resumes our own, see AcquireOptions.resume); tells who holds it otherwise. */
  async acquireLease(holder: string, options: AcquireOptions = {}): Promise<AcquireResult> {
    if (!holder || /[\r\n]/.test(holder)) throw new Error('holder must be a non-empty single-line string');
    return this.acquireOnce(holder, options, 1);
  }

  private async acquireOnce(holder: string, options: AcquireOptions, attempt: number): Promise<AcquireResult> {
    const autoExtend = options.autoExtend ?? true;
    const outcome = await this.tryLock();
    if (outcome.lock) {
      const lease = new MaintenanceLease(this, holder, outcome.lock.value, outcome.lock.expiration);
      await this.writeHolder(lease.token, holder);
      if (autoExtend) lease.startAutoExtend();
      return { acquired: true, lease, resumed: false };
    }
    const state = await this.inspect();
    if (!state) {
      // Released between our attempt and the look-up: try again, a few times at most.
      return attempt < 3 ? this.acquireOnce(holder, options, attempt + 1) : { acquired: false, heldBy: null };
    }
    if (options.resume && state.holder === holder) {
      const lease = new MaintenanceLease(this, holder, state.token, Date.now() + Math.max(1, state.ttlMs));
      try {
        await lease.extend();
      } catch (err) {
        // Our old lease ran out between the look-up and the take-over (a restart that comes
        // back just as its crashed lease expires): the lock is probably free now, so try to
        // take it rather than report a holder that no longer exists.
        if (err instanceof LockLostError) {
          if (attempt < 3) return this.acquireOnce(holder, options, attempt + 1);
          return { acquired: false, heldBy: (await this.inspect())?.holder ?? null };
        }
        throw err;
      }
      this.opts.logger?.warn({ key: this.key, holder }, 'resumed maintenance lock held under the same holder id');
      if (autoExtend) lease.startAutoExtend();
      return { acquired: true, lease, resumed: true };
    }
    return { acquired: false, heldBy: state.holder };
  }

  /** Who holds the lock: null if it is free (or its holder has not been recorded yet). */
  async currentHolder(): Promise<string | null> {
    return (await this.inspect())?.holder ?? null;
  }

  /**
   * Lets go of a lock that `holder` still holds although its work is over (it crashed before
   * releasing). Only that holder's token is deleted: a lock that expired and was taken by
   * someone else meanwhile is left alone. True when it released one.
   */
  async releaseHeldBy(holder: string): Promise<boolean> {
    const state = await this.inspect();
    if (!state || state.holder !== holder) return false;
    await this.releaseToken(state.token);
    this.opts.logger?.warn({ key: this.key, holder }, 'released a maintenance lock its finished holder had left behind');
    return true;
  }

  /**
   * Runs `fn` while holding the lock, extending it meanwhile and releasing it afterwards
   * (always). If the lock is lost mid-way `signal` aborts (reason: LockLostError); a fn that
   * still completes then makes this reject with LockLostError, since its work was not
   * exclusive throughout.
   */
  async runExclusive<T>(holder: string, fn: (signal: AbortSignal) => Promise<T>): Promise<ExclusiveResult<T>> {
    const result = await this.acquireLease(holder);
    if (!result.acquired) return { acquired: false, heldBy: result.heldBy };
    const { lease } = result;
    try {
      const value = await fn(lease.signal);
      if (lease.lost) throw lease.signal.reason as LockLostError;
      return { acquired: true, value };
    } finally {
      await lease.release();
    }
  }

  // ---- internals used by MaintenanceLease ----

  /** @internal */
  async extendToken(token: string, expiration: number): Promise<number> {
    const current = new Lock(this.redlock, [this.key], token, [], expiration);
    let extended: Lock;
    try {
      extended = await this.withTimeout(this.redlock.extend(current, this.ttlMs), 'extend');
    } catch (err) {
      throw await this.classify(err, 'extend');
    }
    await this.writeHolderTtl(token);
    return extended.expiration;
  }

  /** @internal */
  async releaseToken(token: string): Promise<void> {
    const current = new Lock(this.redlock, [this.key], token, [], Date.now() + this.ttlMs);
    try {
      await this.withTimeout(this.redlock.release(current), 'release');
    } catch (err) {
      throw await this.classify(err, 'release');
    }
    await this.onAll((c) => c.eval(DEL_HOLDER, 2, this.key, this.holderKey, token), 'release holder').catch(() => undefined);
  }

  /** @internal */
  get extendIntervalMs(): number {
    return this.extendEveryMs;
  }

  /** @internal */
  /** @internal */
  leaseEnded(holder: string, heldMs: number): void {
    this.opts.onLeaseEnded?.(holder, heldMs);
  }

  get logger(): LockLogger | undefined {
    return this.opts.logger;
  }

  private async tryLock(): Promise<{ lock: Lock | null }> {
    const pending = this.redlock.acquire([this.key], this.ttlMs);
    try {
      return { lock: await this.withTimeout(pending, 'acquire') };
    } catch (err) {
      if (err instanceof LockUnavailableError) {
        // We gave up waiting; if Redis answers later, give the orphan back instead of
        // leaving the PBX locked for a whole ttl.
        pending.then((late) => late.release()).catch(() => undefined);
        throw err;
      }
      const classified = await this.classify(err, 'acquire');
      if (classified instanceof LockLostError) return { lock: null }; // held by someone else
      throw classified;
    }
  }

  private async writeHolder(token: string, holder: string): Promise<void> {
    await this.onAll((c) => c.eval(SET_HOLDER, 2, this.key, this.holderKey, token, holder, String(this.ttlMs)), 'record holder').catch(
      (err: unknown) => this.opts.logger?.warn({ err, key: this.key }, 'could not record the maintenance lock holder'),
    );
  }

  private async writeHolderTtl(token: string): Promise<void> {
    // Re-running SET_HOLDER needs the holder name; a bare PEXPIRE guarded by the token is enough.
    const script = `if redis.call('hget', KEYS[2], 'token') == ARGV[1] then redis.call('pexpire', KEYS[2], ARGV[2]) end return 0`;
    await this.onAll((c) => c.eval(script, 2, this.key, this.holderKey, token, String(this.ttlMs)), 'extend holder').catch(() => undefined);
  }

  private async inspect(): Promise<{ token: string; holder: string | null; ttlMs: number } | null> {
    const answers = await this.onAll((c) => c.eval(INSPECT, 2, this.key, this.holderKey), 'inspect');
    for (const answer of answers) {
      if (Array.isArray(answer) && typeof answer[0] === 'string') {
        const [token, holder, ttl] = answer as [string, string, number];
        return { token, holder: holder || null, ttlMs: Number(ttl) };
      }
    }
    return null;
  }

  /** Runs `op` on every node; rejects as unavailable unless a majority answered. */
  private async onAll<T>(op: (client: Redis) => Promise<T>, what: string): Promise<T[]> {
    const settled = await Promise.allSettled(this.clients.map((c) => this.withTimeout(op(c), what)));
    const ok = settled.filter((s): s is PromiseFulfilledResult<Awaited<T>> => s.status === 'fulfilled').map((s) => s.value);
    if (ok.length < Math.floor(this.clients.length / 2) + 1) {
      const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      throw failure?.reason instanceof LockUnavailableError
        ? failure.reason
        : new LockUnavailableError(`Redis unavailable (${what} on ${this.key})`, { cause: failure?.reason });
    }
    return ok;
  }

  private withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LockUnavailableError(`Redis unavailable: ${what} on ${this.key} got no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      promise.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e: unknown) => (clearTimeout(timer), reject(e)),
      );
    });
  }

  /**
   * Turns a redlock failure into LockLostError (a majority of nodes said "someone else's
   * lock" / already expired) or LockUnavailableError (nodes could not be asked).
   */
  private async classify(err: unknown, what: string): Promise<LockLostError | LockUnavailableError> {
    if (err instanceof LockUnavailableError || err instanceof LockLostError) return err;
    if (err instanceof ExecutionError) {
      if (err.attempts.length === 0) return new LockLostError(`${what} on ${this.key}: ${err.message}`, { cause: err });
      const stats = await this.withTimeout(err.attempts[err.attempts.length - 1], what).catch(() => null);
      if (stats) {
        const errors = [...stats.votesAgainst.values()];
        const locked = errors.filter((e) => e instanceof ResourceLockedError).length;
        if (locked >= stats.quorumSize) return new LockLostError(`${what} on ${this.key}: held by another holder`, { cause: err });
        const cause = errors.find((e) => !(e instanceof ResourceLockedError)) ?? err;
        return new LockUnavailableError(`Redis unavailable: ${what} on ${this.key} failed: ${cause.message}`, { cause });
      }
    }
    const message = err instanceof Error ? err.message : String(err);
    return new LockUnavailableError(`Redis unavailable: ${what} on ${this.key} failed: ${message}`, { cause: err });
  }
}

/**
 * A held maintenance lock. Extends itself (unless told not to) until `release()`; if an
 * extension finds the lock gone, or Redis stays unreachable past the expiry, `signal`
 * aborts with a LockLostError and `lost` turns true.
 */
export class MaintenanceLease {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private extending: Promise<void> | undefined;
  private readonly acquiredAt = Date.now();

  /** @internal */
  constructor(
    private readonly lock: MaintenanceLock,
    readonly holder: string,
    /** The lock value in Redis; identifies this lease. */
    readonly token: string,
    private expiration: number,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /** When the lease runs out unless extended (ms since epoch, local clock, drift subtracted). */
  get expiresAt(): number {
    return this.expiration;
  }

  /** Extends the lease by the lock's ttl. Throws LockLostError or LockUnavailableError. */
  async extend(): Promise<void> {
    if (this.released) throw new LockLostError(`lease of ${this.holder} was released`);
    if (this.lost) throw this.signal.reason as LockLostError;
    // Timer and caller may extend at the same moment: share one round trip.
    this.extending ??= this.lock
      .extendToken(this.token, this.expiration)
      .then(
        (expiration) => {
          this.expiration = expiration;
        },
        (err: unknown) => {
          if (err instanceof LockLostError) this.markLost(err);
          throw err;
        },
      )
      .finally(() => {
        this.extending = undefined;
      });
    return this.extending;
  }

  /** Releases the lock (idempotent, never throws: an unreleased lock expires after its ttl). */
  async release(): Promise<boolean> {
    if (this.released) return false;
    this.released = true;
    this.stopAutoExtend();
    if (this.lost) return false;
    this.lock.leaseEnded(this.holder, Date.now() - this.acquiredAt);
    try {
      await this.lock.releaseToken(this.token);
      return true;
    } catch (err) {
      this.lock.logger?.warn({ err, holder: this.holder }, 'could not release the maintenance lock; it expires after its ttl');
      return false;
    }
  }

  /** @internal */
  startAutoExtend(): void {
    if (this.timer || this.released) return;
    this.schedule(this.lock.extendIntervalMs);
  }

  private stopAutoExtend(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.tick(), delayMs);
    // A lease must not keep an otherwise finished process alive; it expires on its own.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.released || this.lost) return;
    try {
      await this.extend();
    } catch (err) {
      if (this.lost || this.released) return;
      if (Date.now() >= this.expiration) {
        this.markLost(new LockLostError(`maintenance lock of ${this.holder} expired while Redis was unreachable`, { cause: err }));
        return;
      }
      this.lock.logger?.warn({ err, holder: this.holder }, 'maintenance lock extension failed; retrying');
      // Retry sooner while the lease is still valid.
      this.schedule(Math.max(10, Math.min(this.lock.extendIntervalMs, Math.floor((this.expiration - Date.now()) / 2))));
      return;
    }
    if (!this.released) this.schedule(this.lock.extendIntervalMs);
  }

  private markLost(err: LockLostError): void {
    this.stopAutoExtend();
    if (!this.lost) {
      this.lock.leaseEnded(this.holder, Date.now() - this.acquiredAt);
      this.lock.logger?.warn({ holder: this.holder }, 'maintenance lock lost');
      this.controller.abort(err);
    }
  }
}

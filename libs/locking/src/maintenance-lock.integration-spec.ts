import { createLogger } from '@pbx/observability';
import { expectEventually, testUrls, uniqueName } from '@pbx/testing';
import Redis, { type RedisOptions } from 'ioredis';
import { LockLostError, LockUnavailableError, MaintenanceLock, type MaintenanceLockOptions } from './index';

describe('MaintenanceLock (real Redis)', () => {
  const clients: Redis[] = [];
  const connect = (url = testUrls.redis, options: RedisOptions = {}): Redis => {
    // A short disconnect timeout: the unreachable clients' sockets never close cleanly.
    const client = new Redis(url, { disconnectTimeout: 50, ...options });
    client.on('error', () => undefined); // connection errors surface through the lock's own errors
    clients.push(client);
    return client;
  };
  /** Two locks on the same unique key over separate connections, like two services. */
  const pair = (opts: Partial<MaintenanceLockOptions> = {}) => {
    const keyPrefix = `${uniqueName('lock')}:`;
    const options = { keyPrefix, ttlMs: 1000, ...opts };
    return [new MaintenanceLock(connect(), options), new MaintenanceLock(connect(), options)] as const;
  };

  afterAll(async () => {
    await Promise.all(clients.map((c) => (c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : c.disconnect())));
  });

  it('acquires, reports the holder to a contender, releases', async () => {
    const [a, b] = pair();
    expect(a.key).toMatch(/^lock_.*:pbx:maintenance$/);
    expect(await a.currentHolder()).toBeNull();
    const lease = await a.tryAcquire('backup:run-1');
    expect(lease).not.toBeNull();
    expect(await b.currentHolder()).toBe('backup:run-1');
    expect(await b.tryAcquire('archive:run-2')).toBeNull();
    expect(await b.acquireLease('archive:run-2')).toEqual({ acquired: false, heldBy: 'backup:run-1' });

    expect(await lease!.release()).toBe(true);
    expect(await lease!.release()).toBe(false); // idempotent
    expect(await b.currentHolder()).toBeNull();
    const second = await b.tryAcquire('archive:run-2');
    expect(second?.holder).toBe('archive:run-2');
    expect(await a.currentHolder()).toBe('archive:run-2');
    await second!.release();
  });

  it('a second runExclusive gets heldBy and does not run', async () => {
    const [a, b] = pair({ ttlMs: 5000 });
    let ran = false;
    const outcome = await a.runExclusive('backup:run-1', async () => b.runExclusive('archive:run-2', async () => (ran = true)));
    expect(outcome).toEqual({ acquired: true, value: { acquired: false, heldBy: 'backup:run-1' } });
    expect(ran).toBe(false);
    expect(await a.currentHolder()).toBeNull();
  });

  it('auto-extension keeps the lock well past its ttl while fn runs', async () => {
    const ttlMs = 600;
    const [a, b] = pair({ ttlMs });
    const started = Date.now();
    const seen: (string | null)[] = [];
    const result = await a.runExclusive('backup:long', async (signal) => {
      // Poll the holder from the other side until 4 ttls have passed.
      await expectEventually(
        async () => {
          seen.push(await b.currentHolder());
          return Date.now() - started > 4 * ttlMs;
        },
        { timeoutMs: 20 * ttlMs, intervalMs: 50 },
      );
      return signal.aborted;
    });
    expect(result).toEqual({ acquired: true, value: false });
    expect(seen.length).toBeGreaterThan(5);
    expect(new Set(seen)).toEqual(new Set(['backup:long']));
    expect(await b.currentHolder()).toBeNull();
  });

  it('releases in finally when fn throws', async () => {
    const [a, b] = pair({ ttlMs: 30_000 });
    await expect(
      a.runExclusive('backup:boom', async () => {
        throw new Error('packing failed');
      }),
    ).rejects.toThrow('packing failed');
    // Released at once, not after the 30 s ttl.
    expect(await b.currentHolder()).toBeNull();
    const lease = await b.tryAcquire('archive:next');
    expect(lease).not.toBeNull();
    await lease!.release();
  });

  it('a holder that stops extending loses the lock after ttl', async () => {
    const [a, b] = pair({ ttlMs: 500 });
    const lease = await a.tryAcquire('backup:dead', { autoExtend: false });
    expect(lease).not.toBeNull();
    expect(await b.tryAcquire('archive:waiting')).toBeNull();
    const taken = await expectEventually(() => b.tryAcquire('archive:waiting'), { timeoutMs: 5000 });
    expect(Date.now()).toBeGreaterThanOrEqual(lease!.expiresAt);
    await expect(lease!.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(lease!.lost).toBe(true);
    expect(await b.currentHolder()).toBe('archive:waiting');
    expect(await lease!.release()).toBe(false); // must not release the new holder's lock
    expect(await b.currentHolder()).toBe('archive:waiting');
    await taken!.release();
  });

  it('aborts the signal of a lease whose lock was taken away, and runExclusive then rejects', async () => {
    const [a, b] = pair({ ttlMs: 600 });
    const redis = connect();
    const run = a.runExclusive('backup:victim', async (signal) => {
      // Simulate the lock vanishing (e.g. Redis flushed / failed over): delete the key.
      await redis.del(a.key);
      await expectEventually(() => signal.aborted, { timeoutMs: 5000 });
      expect(signal.reason).toBeInstanceOf(LockLostError);
      return 'done anyway';
    });
    await expect(run).rejects.toBeInstanceOf(LockLostError);
    const lease = await b.tryAcquire('archive:after');
    expect(lease).not.toBeNull();
    await lease!.release();
  });

  it('a manual lease extends and can be resumed after a restart by the same holder id only', async () => {
    const [a, b] = pair({ ttlMs: 2000 });
    const lease = await a.tryAcquire('archive:run-7', { autoExtend: false });
    const before = lease!.expiresAt;
    const acquiredAt = Date.now();
    await expectEventually(() => Date.now() > acquiredAt + 50); // let time pass so the new expiry is later
    await lease!.extend();
    expect(lease!.expiresAt).toBeGreaterThan(before);

    // "Process restart": a fresh lock instance with the same holder id takes the lease over.
    expect(await b.acquireLease('archive:run-8', { resume: true })).toEqual({ acquired: false, heldBy: 'archive:run-7' });
    expect(await b.acquireLease('archive:run-7')).toEqual({ acquired: false, heldBy: 'archive:run-7' }); // resume is opt-in
    const resumed = await b.acquireLease('archive:run-7', { resume: true });
    expect(resumed.acquired && resumed.resumed).toBe(true);
    if (!resumed.acquired) throw new Error('not resumed');
    expect(resumed.lease.token).toBe(lease!.token);
    expect(await resumed.lease.release()).toBe(true);
    expect(await a.currentHolder()).toBeNull();

    // When the old lease already expired, resume simply acquires afresh.
    const fresh = await a.acquireLease('archive:run-7', { resume: true });
    expect(fresh.acquired && !fresh.resumed).toBe(true);
    if (fresh.acquired) await fresh.lease.release();
  });

  it('a resume whose old lease runs out between the look-up and the take-over acquires afresh, not "held by nobody"', async () => {
    const keyPrefix = `${uniqueName('lock')}:`;
    const crashed = new MaintenanceLock(connect(), { keyPrefix, ttlMs: 30_000 });
    const old = await crashed.tryAcquire('backup:run-9', { autoExtend: false });
    expect(old).not.toBeNull();
    // The restarted process's Redis: right after its look-up (the only script reading the
    // pttl) has answered, the old lease expires, before the take-over reaches Redis.
    const plain = connect();
    const real = connect();
    let expireOnce = true;
    const expiring = new Proxy(real, {
      get(target, prop) {
        if (prop === 'eval') {
          return async (...args: unknown[]) => {
            const result: unknown = await (target.eval as (...a: unknown[]) => Promise<unknown>)(...args);
            if (expireOnce && String(args[0]).includes('pttl')) {
              expireOnce = false;
              await plain.del(crashed.key, `${crashed.key}:holder`);
            }
            return result;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const restarted = new MaintenanceLock(expiring, { keyPrefix, ttlMs: 30_000 });
    const result = await restarted.acquireLease('backup:run-9', { resume: true });
    expect(expireOnce).toBe(false); // the expiry really fell between look-up and take-over
    expect(result).toMatchObject({ acquired: true, resumed: false });
    if (!result.acquired) throw new Error('not acquired');
    expect(result.lease.token).not.toBe(old!.token);
    expect(await crashed.currentHolder()).toBe('backup:run-9');
    expect(await result.lease.release()).toBe(true);
  });

  it('releaseHeldBy lets go of a lock a crashed holder left behind, and only that holder\'s', async () => {
    const [a, b] = pair({ ttlMs: 60_000 });
    // The holder "crashed": its lease object is gone, nothing extends or releases it.
    expect(await a.tryAcquire('backup:finished', { autoExtend: false })).not.toBeNull();
    expect(await b.releaseHeldBy('backup:other')).toBe(false);
    expect(await b.currentHolder()).toBe('backup:finished');
    expect(await b.releaseHeldBy('backup:finished')).toBe(true);
    expect(await b.currentHolder()).toBeNull();
    expect(await b.releaseHeldBy('backup:finished')).toBe(false);
    // Someone else holds it now: the old holder's name releases nothing.
    const next = await b.tryAcquire('archive:next');
    expect(await a.releaseHeldBy('backup:finished')).toBe(false);
    expect(await a.currentHolder()).toBe('archive:next');
    await next!.release();
  });

  it('Redis unreachable -> LockUnavailableError, fn never runs', async () => {
    const down = connect('redis://127.0.0.1:6399');
    const lock = new MaintenanceLock(down, { keyPrefix: `${uniqueName('lock')}:`, ttlMs: 3000, operationTimeoutMs: 300 });
    let ran = false;
    const result = lock.runExclusive('backup:x', async () => {
      ran = true;
    });
    await expect(result).rejects.toBeInstanceOf(LockUnavailableError);
    await expect(lock.runExclusive('backup:x', async () => undefined)).rejects.toThrow(/Redis unavailable/);
    await expect(lock.tryAcquire('backup:x')).rejects.toBeInstanceOf(LockUnavailableError);
    await expect(lock.currentHolder()).rejects.toBeInstanceOf(LockUnavailableError);
    expect(ran).toBe(false);

    // A client that fails fast (no offline queue) is classified the same way.
    const fast = connect('redis://127.0.0.1:6399', { enableOfflineQueue: false, lazyConnect: true });
    const fastLock = new MaintenanceLock(fast, { ttlMs: 3000, keyPrefix: `${uniqueName('lock')}:` });
    await expect(fastLock.tryAcquire('backup:y')).rejects.toBeInstanceOf(LockUnavailableError);
  });

  it('concurrent contenders never overlap', async () => {
    const keyPrefix = `${uniqueName('lock')}:`;
    const logger = createLogger({ service: 'lock-test', level: 'silent' });
    const locks = Array.from({ length: 5 }, () => new MaintenanceLock(connect(), { keyPrefix, ttlMs: 1000, logger }));
    const intervals: { who: number; start: number; end: number }[] = [];
    let inside = 0;
    let maxInside = 0;

    // First round: all at once -> exactly one runs.
    const firstRound = await Promise.all(
      locks.map((lock, i) =>
        lock.runExclusive(`backup:${i}`, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          const start = Date.now();
          await expectEventually(() => Date.now() - start >= 100);
          inside--;
          intervals.push({ who: i, start, end: Date.now() });
          return i;
        }),
      ),
    );
    const winners = firstRound.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const winner = winners[0].acquired ? winners[0].value : -1;
    for (const r of firstRound.filter((x) => !x.acquired)) expect(r).toEqual({ acquired: false, heldBy: `backup:${winner}` });

    // Then each contender retries until it has had its turn.
    await Promise.all(
      locks.map((lock, i) =>
        expectEventually(
          async () => {
            const r = await lock.runExclusive(`archive:${i}`, async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              const start = Date.now();
              await expectEventually(() => Date.now() - start >= 20, { intervalMs: 5 });
              inside--;
              intervals.push({ who: i, start, end: Date.now() });
            });
            return r.acquired;
          },
          { timeoutMs: 30_000, intervalMs: 10 },
        ),
      ),
    );
    expect(maxInside).toBe(1);
    expect(intervals).toHaveLength(6);
    const sorted = [...intervals].sort((x, y) => x.start - y.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].start).toBeGreaterThanOrEqual(sorted[i - 1].end);
  });
});

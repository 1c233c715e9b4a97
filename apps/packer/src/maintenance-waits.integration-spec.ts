/**
 * Issue #17: who waits how long at the maintenance lock. A lock a finished run left behind
 * is taken over at once; a backup behind another backup goes as soon as that one lets go; a
 * backup behind archiving waits MAINTENANCE_DEFER_MS, unless the archiving holder died.
 * MAINTENANCE_DEFER_MS is an hour throughout: any wait that long fails the test.
 */
import { MaintenanceLock } from '@pbx/locking';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { RunEntity } from '@pbx/persistence';
import { expectEventually } from '@pbx/testing';
import { DeferralWatcher } from './deferral-watcher.service';
import { packerTestBed } from './packer.test-helper';

const logger = createLogger({ service: 'packer-waits-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const HOUR = 3_600_000;

describe('waiting for the maintenance lock (real Postgres, RabbitMQ, Redis)', () => {
  const bed = packerTestBed('pkw', {
    logger,
    pbx: { prefix: 'pbxw', seed: { users: 5, cdr: 100, voicemails: 2, announcements: 1, minAudioBytes: 4_000, maxAudioBytes: 8_000 } },
    env: { MAINTENANCE_DEFER_MS: HOUR, MAINTENANCE_LOCK_TTL_MS: 3000, MAINTENANCE_RECHECK_MS: 200 },
  });
  const startPacker = (extra: Record<string, string | number> = {}) => bed.start(extra);
  let lock: MaintenanceLock;
  beforeEach(() => {
    // Another process's view of the same lock: 60 s leases, so only a release frees it in time.
    lock = bed.lock(60_000);
  });

  /** A backup run with its backup.due in the outbox (the packer takes it once it runs). */
  const dueRun = (): Promise<RunEntity> => bed.run();

  /** Another run, put straight into `status` (the starting point of a case): the lock's holder. */
  async function holderRun(kind: 'backup' | 'archive', status: 'packing' | 'dispatching' | 'succeeded'): Promise<RunEntity> {
    const run = await dueRun();
    await bed.db.dataSource.query(
      `UPDATE runs SET kind = $2, status = $3::varchar, started_at = now(), packed_at = CASE WHEN $3::varchar = 'packing' THEN NULL ELSE now() END,
              finished_at = CASE WHEN $3::varchar = 'succeeded' THEN now() END WHERE id = $1`,
      [run.id, kind, status],
    );
    await bed.db.dataSource.query(`UPDATE outbox SET published_at = now() WHERE correlation_id = $1`, [run.id]); // it is past its due event
    return run;
  }

  const runOf = (id: string) => bed.runOf(id);
  const setStatus = (id: string, status: string) =>
    bed.db.dataSource.query(`UPDATE runs SET status = $2::varchar, packed_at = COALESCE(packed_at, now()), finished_at = CASE WHEN $2::varchar = 'succeeded' THEN now() END WHERE id = $1`, [id, status]);
  const packed = (id: string, timeoutMs = 20_000) =>
    expectEventually(async () => {
      const r = await runOf(id);
      return r.status === 'dispatching' ? r : null;
    }, { timeoutMs });
  const deferred = (id: string) =>
    expectEventually(async () => {
      const r = await runOf(id);
      return r.status === 'deferred' ? r : null;
    });

  it('a lock left behind under backup:<finished run> is released, and the next backup packs at once', async () => {
    const finished = await holderRun('backup', 'succeeded');
    expect(await lock.tryAcquire(`backup:${finished.id}`, { autoExtend: false })).not.toBeNull(); // its packer crashed before releasing
    await startPacker({ MAINTENANCE_RECHECK_MS: HOUR }); // no rechecks: the gate itself takes over
    const run = await dueRun();
    const done = await packed(run.id);
    expect(done.deferrals).toEqual([]);
    expect(await lock.currentHolder()).toBeNull();
  });

  it('a redelivered due event of a packed run releases the lock it still holds', async () => {
    const run = await holderRun('backup', 'dispatching');
    expect(await lock.tryAcquire(`backup:${run.id}`, { autoExtend: false })).not.toBeNull(); // crashed between "packed" and the release
    await startPacker({ MAINTENANCE_RECHECK_MS: HOUR });
    await bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'backup.due', { runId: run.id, kind: 'backup' }, { correlationId: run.id }));
    await expectEventually(async () => expect(await lock.currentHolder()).toBeNull());
    expect((await runOf(run.id)).status).toBe('dispatching');
  });

  it('a backup behind another backup packs within seconds of that one letting go, not an hour later', async () => {
    const first = await holderRun('backup', 'packing');
    const lease = await lock.tryAcquire(`backup:${first.id}`);
    await startPacker();
    const second = await dueRun();
    const waiting = await deferred(second.id);
    expect(waiting.deferrals).toMatchObject([{ heldBy: `backup:${first.id}` }]);
    // The first one finishes: packed, lock released.
    await setStatus(first.id, 'dispatching');
    await lease!.release();
    const releasedAt = Date.now();
    const done = await packed(second.id);
    expect(done.startedAt!.getTime() - releasedAt).toBeLessThan(5_000);
    expect(done.deferrals).toHaveLength(1);
  });

  it('a backup behind archiving waits MAINTENANCE_DEFER_MS when archiving runs to its end, and goes as soon as the lock is free when archiving died', async () => {
    const app = await startPacker();
    const watcher = app.get(DeferralWatcher);

    const archive = await holderRun('archive', 'dispatching'); // archiving holds the lock until it deletes
    const lease = await lock.tryAcquire(`archive:${archive.id}`);
    const first = await dueRun();
    const waiting = await deferred(first.id);
    expect(waiting.deferrals).toMatchObject([{ heldBy: `archive:${archive.id}` }]);
    const { at, until } = waiting.deferrals[0];
    expect(new Date(until).getTime() - new Date(at).getTime()).toBe(HOUR);
    expect(await watcher.recheck()).toBe(0); // still held
    await setStatus(archive.id, 'succeeded');
    await lease!.release();
    expect(await watcher.recheck()).toBe(0); // it ran to its end: the hour stands
    expect((await runOf(first.id)).status).toBe('deferred');

    // Another archiving run dies holding the lock: nobody extends its lease, its run stays unfinished.
    const dead = await holderRun('archive', 'dispatching');
    const dying = bed.lock(4000);
    expect(await dying.tryAcquire(`archive:${dead.id}`, { autoExtend: false })).not.toBeNull();
    const second = await dueRun();
    const held = await deferred(second.id);
    expect(held.deferrals).toMatchObject([{ heldBy: `archive:${dead.id}` }]);
    const done = await packed(second.id);
    expect(done.startedAt!.getTime() - new Date(held.deferrals[0].at).getTime()).toBeLessThan(10_000);
    expect((await runOf(dead.id)).status).toBe('dispatching');
    expect((await runOf(first.id)).status).toBe('deferred');
  });
});

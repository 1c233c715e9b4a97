import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { RUN_STATUSES, type FinalRunStatus, type RunStatus } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { expectEventually, migratedDatabase } from '@pbx/testing';
import { ConfigurationEntity } from '../entities/configuration.entity';
import { DestinationEntity } from '../entities/destination.entity';
import { RunsRepository } from '../repositories/runs.repository';
import { RunLifecycle } from './run-lifecycle';
import { runEventsChannel, type RunChange } from './run-lifecycle.repository';
import { runSourcesOf } from './run-transitions';

describe('RunLifecycle (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let lifecycle: RunLifecycle;
  let runs: RunsRepository;
  let manager: EntityManager;

  beforeEach(async () => {
    db = await migratedDatabase('lifecycle');
    lifecycle = new RunLifecycle();
    runs = new RunsRepository(db.dataSource, new OutboxWriter(db.schema));
    manager = db.dataSource.manager;
  });
  afterEach(async () => {
    await db.close();
  });

  async function newRun(opts: { ephemeral?: boolean } = {}): Promise<{ runId: string; configurationId: string; destinationId: string }> {
    const configuration = await manager.save(
      manager.create(ConfigurationEntity, {
        kind: 'backup',
        name: `c-${Math.random().toString(36).slice(2, 8)}`,
        nameKey: `c-${Math.random().toString(36).slice(2, 8)}`,
        reportTo: 'ops@example.test',
        interval: 'manual',
        startAt: '2026-07-01T00:00:00Z',
        timezone: 'UTC',
        data: { coreData: true, cdrAndVoicemails: false, announcements: false },
        ephemeral: opts.ephemeral ?? false,
        encryption: { mode: 'passphrase' },
        encryptionPassphrase: 'v1.k1.sealed-passphrase',
      }),
    );
    const destination = await manager.save(
      manager.create(DestinationEntity, { configurationId: configuration.id, position: 0, type: 'local', settings: {}, secrets: { password: 'sealed' } }),
    );
    const run = await db.dataSource.transaction((tx) => runs.createRun(tx, { configuration, trigger: 'manual' }));
    return { runId: run.id, configurationId: configuration.id, destinationId: destination.id };
  }

  const statusOf = async (runId: string): Promise<string> => (await manager.query('SELECT status FROM runs WHERE id = $1', [runId]))[0].status;
  /** Puts the row into `status` directly: the starting point of one case, not a lifecycle write. */
  const force = (runId: string, status: RunStatus) => manager.query('UPDATE runs SET status = $2 WHERE id = $1', [runId, status]);

  const changeTo = (to: RunStatus): RunChange => {
    switch (to) {
      case 'queued':
        // Nothing moves a run back to queued; the table must refuse it from every status.
        return { to } as unknown as RunChange;
      case 'packing':
        return { to };
      case 'deferred':
        return { to, deferral: { at: new Date().toISOString(), until: new Date(Date.now() + 60_000).toISOString(), heldBy: 'backup:other' } };
      case 'dispatching':
        return { to, artifact: { fileName: 'a.sar', size: 10, sha256: 'f'.repeat(64) }, counts: { cdr: 1 }, progress: { bytes: 10, entriesDone: 1, entriesTotal: 1, updatedAt: new Date().toISOString() } };
      default:
        return { to, error: to === 'succeeded' ? null : 'x failed' };
    }
  };

  it('applies exactly the table: every (from, to) pair in the database agrees with runSourcesOf', async () => {
    const { runId } = await newRun();
    for (const from of RUN_STATUSES) {
      for (const to of RUN_STATUSES) {
        await force(runId, from);
        const result = await lifecycle.transition(manager, runId, changeTo(to));
        const allowed = runSourcesOf(to).includes(from);
        expect({ from, to, result }).toEqual({ from, to, result: allowed ? { applied: true } : { applied: false, status: from } });
        expect(await statusOf(runId)).toBe(allowed ? to : from);
      }
    }
  });

  it('writes the fields of each step and, at the end, the consequences of a final status', async () => {
    const { runId, configurationId } = await newRun({ ephemeral: true });
    const deferral = { at: '2026-07-01T10:00:00.000Z', until: '2026-07-01T11:00:00.000Z', heldBy: 'archive:x' };
    expect(await lifecycle.transition(manager, runId, { to: 'deferred', deferral })).toEqual({ applied: true });
    expect((await manager.query('SELECT deferred_until, deferrals FROM runs WHERE id = $1', [runId]))[0]).toEqual({ deferred_until: new Date(deferral.until), deferrals: [deferral] });
    await lifecycle.transition(manager, runId, { to: 'packing' });
    await lifecycle.transition(manager, runId, changeTo('dispatching'));
    const packed = (await manager.query('SELECT deferred_until, started_at, packed_at, artifact_file_name, counts FROM runs WHERE id = $1', [runId]))[0];
    expect(packed).toMatchObject({ deferred_until: null, artifact_file_name: 'a.sar', counts: { cdr: 1 } });
    expect(packed.started_at).toBeInstanceOf(Date);
    expect(packed.packed_at).toBeInstanceOf(Date);

    expect(await lifecycle.transition(manager, runId, { to: 'succeeded', error: null, counts: { cdrDeleted: 1 } })).toEqual({ applied: true });
    const done = (await manager.query('SELECT finished_at, counts FROM runs WHERE id = $1', [runId]))[0];
    expect(done.finished_at).toBeInstanceOf(Date);
    expect(done.counts).toEqual({ cdr: 1, cdrDeleted: 1 });
    const [config] = await manager.query('SELECT last_success_at, stale_alerted_at FROM configurations WHERE id = $1', [configurationId]);
    expect(config.last_success_at).toBeInstanceOf(Date);
    expect(await manager.query('SELECT secrets FROM destinations WHERE configuration_id = $1', [configurationId])).toEqual([{ secrets: {} }]);
    expect(await manager.query('SELECT encryption_passphrase FROM configurations WHERE id = $1', [configurationId])).toEqual([{ encryption_passphrase: null }]);
  });

  it('a failed run keeps its configuration unfresh and a kept configuration its secrets', async () => {
    const { runId, configurationId } = await newRun();
    await force(runId, 'dispatching');
    await lifecycle.transition(manager, runId, { to: 'failed', error: 'all failed' });
    expect(await manager.query('SELECT last_success_at FROM configurations WHERE id = $1', [configurationId])).toEqual([{ last_success_at: null }]);
    expect(await manager.query('SELECT secrets FROM destinations WHERE configuration_id = $1', [configurationId])).toEqual([{ secrets: { password: 'sealed' } }]);
    expect(await manager.query('SELECT encryption_passphrase FROM configurations WHERE id = $1', [configurationId])).toEqual([{ encryption_passphrase: 'v1.k1.sealed-passphrase' }]);
  });

  it('answers an unknown run with status null', async () => {
    expect(await lifecycle.transition(manager, '00000000-0000-4000-8000-000000000000', { to: 'packing' })).toEqual({ applied: false, status: null });
  });

  it('is atomic: of concurrent final transitions of one run exactly one applies, in whatever order they commit', async () => {
    const { runId } = await newRun();
    await force(runId, 'dispatching');
    const finals: FinalRunStatus[] = ['succeeded', 'partially_failed', 'failed', 'succeeded', 'failed', 'partially_failed'];
    const results = await Promise.all(
      finals.map((to) =>
        db.dataSource.transaction(async (tx) => {
          const r = await lifecycle.transition(tx, runId, { to, error: null });
          // Hold the row lock a moment, so the others queue behind it and re-check the status.
          await tx.query('SELECT pg_sleep(0.05)');
          return { to, ...r };
        }),
      ),
    );
    const applied = results.filter((r) => r.applied);
    expect(applied).toHaveLength(1);
    expect(await statusOf(runId)).toBe(applied[0].to);
    expect(results.filter((r) => !r.applied).every((r) => 'status' in r && r.status === applied[0].to)).toBe(true);
  });

  it('owns delivery state: attempts count on the row, a final delivery stays final', async () => {
    const { runId, destinationId } = await newRun();
    const planned = [{ destinationId, type: 'local' as const, target: 'local' }];
    const [id] = await lifecycle.planDeliveries(manager, runId, planned);
    expect(await lifecycle.planDeliveries(manager, runId, planned)).toEqual([]);
    expect(await lifecycle.transitionDelivery(manager, id, { to: 'succeeded', location: 'x', target: 'x', bytes: 1 })).toEqual({ applied: false, status: 'pending' });
    expect(await lifecycle.transitionDelivery(manager, id, { to: 'running' })).toEqual({ applied: true, attempts: 1 });
    const past = new Date(Date.now() - 1000);
    expect(await lifecycle.transitionDelivery(manager, id, { to: 'pending', code: 'timeout', error: 'slow', nextAttemptAt: past, failingSince: past })).toEqual({ applied: true, attempts: 1 });
    // A dispatcher died mid-upload: the message came back to a running delivery.
    await lifecycle.transitionDelivery(manager, id, { to: 'running' });
    expect(await lifecycle.transitionDelivery(manager, id, { to: 'running' })).toEqual({ applied: true, attempts: 3 });
    expect(await lifecycle.transitionDelivery(manager, id, { to: 'succeeded', location: 'starface-backup/c/a.sar', target: 'local', bytes: 10 })).toEqual({ applied: true, attempts: 3 });
    for (const change of [{ to: 'running' }, { to: 'failed', code: 'ioError', error: 'late' }, { to: 'pending', code: 'timeout', error: 'late', nextAttemptAt: new Date(), failingSince: new Date() }] as const) {
      expect(await lifecycle.transitionDelivery(manager, id, change)).toEqual({ applied: false, status: 'succeeded' });
    }
    expect(await manager.query('SELECT status, code, attempts, error, location FROM deliveries WHERE id = $1', [id])).toEqual([
      { status: 'succeeded', code: 'successful', attempts: 3, error: null, location: 'starface-backup/c/a.sar' },
    ]);
  });

  it('a waiting delivery starts its next attempt only when due; the first failure starts its retry budget', async () => {
    const { runId, destinationId } = await newRun();
    const [id] = await lifecycle.planDeliveries(manager, runId, [{ destinationId, type: 'sftp' as const, target: 'sftp' }]);
    const firstFailure = new Date(Date.now() - 60_000);
    await lifecycle.transitionDelivery(manager, id, { to: 'running' });
    await lifecycle.transitionDelivery(manager, id, { to: 'pending', code: 'mountfail', error: 'down', nextAttemptAt: new Date(Date.now() + 60_000), failingSince: firstFailure });
    // An early copy of the message finds nothing to do: the scheduled one will come.
    expect(await lifecycle.transitionDelivery(manager, id, { to: 'running' })).toEqual({ applied: false, status: 'pending' });
    await manager.query(`UPDATE deliveries SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(await lifecycle.transitionDelivery(manager, id, { to: 'running' })).toEqual({ applied: true, attempts: 2 });
    await lifecycle.transitionDelivery(manager, id, { to: 'pending', code: 'timeout', error: 'stalled', nextAttemptAt: new Date(), failingSince: new Date() });
    const [row] = await manager.query('SELECT failing_since, next_attempt_at FROM deliveries WHERE id = $1', [id]);
    expect(row.failing_since.getTime()).toBe(firstFailure.getTime());
    expect(row.next_attempt_at).toBeInstanceOf(Date);
    await lifecycle.transitionDelivery(manager, id, { to: 'running' });
    expect(await manager.query('SELECT next_attempt_at FROM deliveries WHERE id = $1', [id])).toEqual([{ next_attempt_at: null }]);
  });

  it('announces every watched write on the schema\'s run-events channel with the run id, at commit only', async () => {
    const { runId, destinationId } = await newRun();
    const listener = new Client({ connectionString: db.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN "${runEventsChannel(db.schema)}"`);
    try {
      await lifecycle.transition(manager, runId, { to: 'packing' });
      await lifecycle.saveProgress(manager, runId, { bytes: 1, entriesDone: 1, entriesTotal: null, updatedAt: new Date().toISOString() });
      const [id] = await lifecycle.planDeliveries(manager, runId, [{ destinationId, type: 'local', target: 'local' }]);
      await lifecycle.transitionDelivery(manager, id, { to: 'running' });
      await lifecycle.saveDeliveryProgress(manager, id, 5);
      await db.dataSource
        .transaction(async (tx) => {
          await lifecycle.saveDeliveryProgress(tx, id, 6);
          throw new Error('rolled back');
        })
        .catch(() => undefined);
      await expectEventually(() => expect(heard).toEqual([runId, runId, runId, runId, runId]));
      // A refused move (no row changed) announces nothing.
      await lifecycle.transition(manager, runId, { to: 'queued' } as unknown as RunChange);
      await lifecycle.transition(manager, runId, { to: 'failed', error: 'x' });
      await expectEventually(() => expect(heard).toHaveLength(6));
    } finally {
      await listener.end();
    }
  });

  it('tells its observer (metrics) of each final change: run durations, each delivery with its code, a cancel\'s not-started deliveries too', async () => {
    const heard: unknown[] = [];
    const observed = new RunLifecycle(undefined, { runFinished: (r) => heard.push({ run: r }), deliveryFinished: (d) => heard.push({ delivery: d }) });
    const { runId, destinationId } = await newRun();
    await observed.transition(manager, runId, { to: 'packing' });
    await observed.transition(manager, runId, changeTo('dispatching'));
    const second = await manager.save(manager.create(DestinationEntity, { configurationId: (await manager.query('SELECT configuration_id FROM runs WHERE id = $1', [runId]))[0].configuration_id, position: 1, type: 'sftp', settings: {}, secrets: {} }));
    const third = await manager.save(manager.create(DestinationEntity, { configurationId: second.configurationId, position: 2, type: 'smb', settings: {}, secrets: {} }));
    const [local, sftp] = await observed.planDeliveries(manager, runId, [
      { destinationId, type: 'local', target: 'local' },
      { destinationId: second.id, type: 'sftp', target: 'sftp' },
      { destinationId: third.id, type: 'smb', target: 'smb' },
    ]);
    await observed.transitionDelivery(manager, local, { to: 'running' });
    await observed.transitionDelivery(manager, local, { to: 'succeeded', location: 'x', target: 'local', bytes: 1234 });
    await observed.transitionDelivery(manager, sftp, { to: 'running' });
    expect(heard).toEqual([{ delivery: { destinationKind: 'local', code: 'successful', bytes: 1234 } }]);
    // The cancel ends the pending smb delivery at once; the running sftp upload is its dispatcher's to end.
    await observed.transition(manager, runId, { to: 'cancelled', error: null });
    await observed.transitionDelivery(manager, sftp, { to: 'cancelled' });
    expect(heard.slice(1)).toEqual([
      { delivery: { destinationKind: 'smb', code: 'cancelled', bytes: 0 } },
      { run: { kind: 'backup', result: 'cancelled', seconds: expect.any(Number) } },
      { delivery: { destinationKind: 'sftp', code: 'cancelled', bytes: 0 } },
    ]);
    // A refused (replayed) final change is not told again.
    await observed.transition(manager, runId, { to: 'cancelled', error: null });
    expect(heard).toHaveLength(4);
  });

  it('marks a run delivered once', async () => {
    const { runId } = await newRun();
    const marks = await Promise.all([1, 2, 3].map(() => db.dataSource.transaction((tx) => lifecycle.markDelivered(tx, runId))));
    expect(marks.filter(Boolean)).toHaveLength(1);
    expect(await lifecycle.markDelivered(manager, runId)).toBe(false);
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MaintenanceLock } from '@pbx/locking';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { RunEntity, RunLifecycle } from '@pbx/persistence';
import type { DeleteArchivedOptions, PostgresPbxSource } from '@pbx/pbx-source';
import { listSar } from '@pbx/sar';
import { expectEventually, uniqueName } from '@pbx/testing';
import { ArchiverService } from './archiver.service';
import { packerTestBed } from './packer.test-helper';
import { PBX_SOURCE } from './packer.tokens';

const logger = createLogger({ service: 'archiver-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Items { cdr: number[]; voicemails: { id: number; file: string }[] }

/**
 * The archiver's deletion step at service level (the whole flow through the dispatcher is
 * test/e2e/archiving.e2e-spec.ts): a deletion that dies midway is completed exactly once by
 * the next finalize, and deletion waits while someone else holds the maintenance lock.
 */
describe('archiver deletion (real Postgres, RabbitMQ, Redis)', () => {
  // Deletion changes the PBX: a fresh one for every test.
  const bed = packerTestBed('arc', {
    logger,
    pbx: { prefix: 'arcpbx', perTest: true, seed: { users: 5, cdr: 200, voicemails: 12, announcements: 1, days: 60, minAudioBytes: 4_000, maxAudioBytes: 8_000 } },
    env: { MAINTENANCE_DEFER_MS: 1500, MAINTENANCE_LOCK_TTL_MS: 3000 },
  });
  const startPacker = () => bed.start();
  const dataDir = () => bed.pbx.dataDir;
  let lock: MaintenanceLock;
  beforeEach(() => {
    lock = bed.lock(10_000);
  });

  /** An archive run of CDRs and voicemails older than 30 days; the packer picks up its archive.due. */
  const createArchiveRun = (): Promise<RunEntity> =>
    bed.run({ kind: 'archive', name: uniqueName('arc'), data: { cdr: { enabled: true, daysToKeep: 30 }, voicemails: { enabled: true, daysToKeep: 30 } } });

  const runOf = (id: string) => bed.runOf(id);
  const packed = (id: string) =>
    expectEventually(async () => {
      const r = await runOf(id);
      return r.status === 'dispatching' ? r : null;
    }, { timeoutMs: 30_000 });

  async function pbxItems(): Promise<Items> {
    const cdr: { id: string }[] = await bed.db.dataSource.query(`SELECT id FROM "${bed.pbx.schema}".cdr ORDER BY id`);
    const vm: { id: string; file_name: string }[] = await bed.db.dataSource.query(`SELECT id, file_name FROM "${bed.pbx.schema}".voicemails ORDER BY id`);
    return { cdr: cdr.map((r) => Number(r.id)), voicemails: vm.map((r) => ({ id: Number(r.id), file: r.file_name })) };
  }

  /** The run's selection, cross-checked against the cutoffs in the packed .sar. */
  async function selectionOf(runId: string, before: Items): Promise<{ cdr: number[]; voicemails: number[] }> {
    const rows: { kind: string; item_id: string }[] = await bed.db.dataSource.query(
      `SELECT kind, item_id FROM "${bed.pbx.schema}".archive_selections WHERE selection_id = $1 ORDER BY item_id`,
      [runId],
    );
    const selected = { cdr: rows.filter((r) => r.kind === 'cdr').map((r) => Number(r.item_id)), voicemails: rows.filter((r) => r.kind === 'voicemail').map((r) => Number(r.item_id)) };
    const { manifest } = await listSar(join(bed.artifactDir, `${runId}.sar`));
    const old: { id: string }[] = await bed.db.dataSource.query(`SELECT id FROM "${bed.pbx.schema}".cdr WHERE started_at < $1 ORDER BY id`, [manifest.archive!.cdrOlderThan]);
    expect(selected.cdr).toEqual(old.map((r) => Number(r.id)));
    expect(selected.cdr.length).toBeGreaterThan(40);
    expect(selected.cdr.length).toBeLessThan(before.cdr.length);
    expect(selected.voicemails.length).toBeGreaterThan(0);
    expect(selected.voicemails.length).toBeLessThan(before.voicemails.length);
    return selected;
  }

  function expectAfterDeletion(now: Items, before: Items, selected: { cdr: number[]; voicemails: number[] }): void {
    expect(now.cdr).toEqual(before.cdr.filter((id) => !selected.cdr.includes(id)));
    expect(now.voicemails).toEqual(before.voicemails.filter((v) => !selected.voicemails.includes(v.id)));
    for (const v of before.voicemails) expect(existsSync(join(dataDir(), v.file))).toBe(!selected.voicemails.includes(v.id));
  }

  it('cancelled while its archive is delivered: the held lock and the selection go at once, nothing is deleted, a late archive.delivered does nothing', async () => {
    const before = await pbxItems();
    await startPacker();
    const run = await createArchiveRun();
    await packed(run.id);
    expect(await lock.currentHolder()).toBe(`archive:${run.id}`);
    const selected = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM "${bed.pbx.schema}".archive_selections WHERE selection_id = $1`, [run.id]);
    expect(selected[0].n).toBeGreaterThan(0);

    const cancelled = await bed.db.dataSource.transaction((tx) => new RunLifecycle().transition(tx, run.id, { to: 'cancelled', error: null }));
    expect(cancelled.applied).toBe(true);
    await expectEventually(async () => (await lock.currentHolder()) === null, { timeoutMs: 10_000 });
    await expectEventually(async () => (await bed.db.dataSource.query(`SELECT 1 FROM "${bed.pbx.schema}".archive_selections WHERE selection_id = $1`, [run.id])).length === 0, { timeoutMs: 10_000 });

    // Had every delivery answered just before the cancel, the finalize that comes finds a final run.
    await bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'archive.delivered', { runId: run.id, allSucceeded: true }, { correlationId: run.id }));
    await expectEventually(async () => (await bed.db.dataSource.query('SELECT 1 FROM inbox WHERE message_id IN (SELECT id FROM outbox WHERE correlation_id = $1 AND type = $2)', [run.id, 'archive.delivered'])).length === 1, { timeoutMs: 20_000 });
    expect(await pbxItems()).toEqual(before);
    expect((await runOf(run.id)).status).toBe('cancelled');
    expect(await lock.currentHolder()).toBeNull();
  });

  it('a deletion that dies midway is completed exactly once by the restarted archiver; nothing else is deleted', async () => {
    const before = await pbxItems();
    const first = await startPacker();
    const run = await createArchiveRun();
    await packed(run.id);
    const selected = await selectionOf(run.id, before);
    expect(await lock.currentHolder()).toBe(`archive:${run.id}`);

    // The process "dies" after two committed batches of 20 (a throw from onBatch stops deleteArchived right there).
    const source = first.get<PostgresPbxSource>(PBX_SOURCE);
    const original = source.deleteArchived.bind(source);
    let batches = 0;
    source.deleteArchived = (id: string, opts: DeleteArchivedOptions = {}) =>
      original(id, {
        ...opts,
        batchSize: 20,
        onBatch: () => {
          if (++batches === 2) throw new Error('simulated crash mid-deletion');
        },
      });
    await expect(first.get(ArchiverService).finalize(run.id, true)).rejects.toThrow('simulated crash');
    expect((await runOf(run.id)).status).toBe('dispatching');
    const midway = await pbxItems();
    expect(midway.cdr).toEqual(before.cdr.filter((id) => !selected.cdr.slice(0, 40).includes(id)));
    expect(midway.voicemails).toEqual(before.voicemails);
    await bed.stop(first);
    // A real crash leaves the lock in Redis under the run's holder id: the next process resumes it.
    const orphan = await expectEventually(async () => {
      const res = await lock.acquireLease(`archive:${run.id}`, { autoExtend: false });
      return res.acquired ? res.lease : null;
    });

    const second = await startPacker();
    await second.get(ArchiverService).finalize(run.id, true);
    const done = await runOf(run.id);
    expect(done.status).toBe('succeeded');
    expect(done.deferrals).toEqual([]);
    expectAfterDeletion(await pbxItems(), before, selected);
    // Totals of the whole deletion, not only of the resumed pass.
    expect(done.counts).toMatchObject({ archivedCdr: selected.cdr.length, archivedVoicemails: selected.voicemails.length, cdrDeleted: selected.cdr.length, voicemailsDeleted: selected.voicemails.length });
    // The resumed lease was released at the end: the lock is free, not left to its ttl.
    expect(await lock.currentHolder()).toBeNull();
    // The run is final: its item list is gone from the PBX schema (the run keeps the counts).
    const [{ lists }] = await bed.db.dataSource.query(`SELECT count(*)::int AS lists FROM "${bed.pbx.schema}".archive_selection_runs WHERE selection_id = $1`, [run.id]);
    const [{ items }] = await bed.db.dataSource.query(`SELECT count(*)::int AS items FROM "${bed.pbx.schema}".archive_selections WHERE selection_id = $1`, [run.id]);
    expect({ lists, items }).toEqual({ lists: 0, items: 0 });
    await orphan.release();

    // A duplicate archive.delivered changes nothing.
    const after = await pbxItems();
    await second.get(ArchiverService).finalize(run.id, true);
    expect(await pbxItems()).toEqual(after);
    const ends: { type: string }[] = await bed.db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1 AND type LIKE 'archive.%' ORDER BY created_at`, [run.id]);
    expect(ends.map((e) => e.type)).toEqual(['archive.due', 'archive.succeeded']);
  });

  it('deletion waits while a backup holds the maintenance lock, then runs from the deferred archive.delivered', async () => {
    const before = await pbxItems();
    const first = await startPacker();
    const run = await createArchiveRun();
    await packed(run.id);
    const selected = await selectionOf(run.id, before);
    // The packer dies: its lease expires after the ttl and a backup takes the lock.
    await bed.stop(first);
    const holder = `backup:${uniqueName('b')}`;
    const backup = await expectEventually(async () => {
      const res = await lock.acquireLease(holder);
      return res.acquired ? res.lease : null;
    }, { timeoutMs: 15_000 });
    try {
      const second = await startPacker();
      await second.get(ArchiverService).finalize(run.id, true);
      const waiting = await runOf(run.id);
      expect(waiting.status).toBe('dispatching');
      expect(waiting.deferrals).toHaveLength(1);
      expect(waiting.deferrals[0].heldBy).toBe(holder);
      expect(await pbxItems()).toEqual(before);
      const [held]: { available_at: Date }[] = await bed.db.dataSource.query(
        `SELECT available_at FROM outbox WHERE correlation_id = $1 AND type = 'archive.delivered'`,
        [run.id],
      );
      expect(held.available_at.getTime()).toBe(new Date(waiting.deferrals[0].until).getTime());
    } finally {
      await backup.release();
    }
    const releasedAt = Date.now();
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 20_000 });
    expect(done.finishedAt!.getTime()).toBeGreaterThanOrEqual(releasedAt);
    expectAfterDeletion(await pbxItems(), before, selected);
    expect(done.counts).toMatchObject({ cdrDeleted: selected.cdr.length, voicemailsDeleted: selected.voicemails.length, filesDeleted: selected.voicemails.length });
    await expectEventually(async () => (await lock.currentHolder()) === null);
  });
});

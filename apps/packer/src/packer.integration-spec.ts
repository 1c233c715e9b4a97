import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { DestinationEntity, RunEntity } from '@pbx/persistence';
import { listSar, verifySar } from '@pbx/sar';
import { expectEventually, uniqueName } from '@pbx/testing';
import { packerTestBed } from './packer.test-helper';

const logger = createLogger({ service: 'packer-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('packer (real Postgres, RabbitMQ, Redis)', () => {
  const bed = packerTestBed('pk', {
    logger,
    pbx: { prefix: 'pbx', seed: { users: 10, cdr: 500, voicemails: 4, announcements: 2, minAudioBytes: 20_000, maxAudioBytes: 40_000 } },
    env: { MAINTENANCE_DEFER_MS: 1500, MAINTENANCE_LOCK_TTL_MS: 3000 },
  });
  const startPacker = (extra: Record<string, string | number | undefined> = {}) => bed.start(extra);
  const createRun = (name = uniqueName('cfg'), ephemeral = false): Promise<RunEntity> =>
    bed.run({ name, ephemeral, data: { coreData: true, cdrAndVoicemails: true, announcements: false } }, { secrets: { password: 'sealed' } });
  const runOf = (id: string) => bed.runOf(id);

  it('packs a due run into a verified .sar with only the selected sections and publishes backup.packed', async () => {
    await startPacker();
    const run = await createRun();
    const packed = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'dispatching' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(packed.artifactFileName).toMatch(new RegExp(`_\\d{8}-\\d{6}_${run.id.slice(0, 8)}\\.sar$`));
    expect(packed.startedAt).not.toBeNull();
    const file = join(bed.artifactDir, `${run.id}.sar`);
    const verified = await verifySar(file);
    expect(verified.ok).toBe(true);
    if (verified.ok) {
      expect(verified.manifest.sections.sort()).toEqual(['cdr', 'core', 'voicemail']);
    }
    expect(readdirSync(bed.artifactDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const events: { type: string }[] = await bed.db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1 ORDER BY created_at`, [run.id]);
    expect(events.map((e) => e.type)).toEqual(['backup.due', 'backup.packed']);
  });

  it('SAR_AUDIO_DEFLATE_LEVEL: audio is stored by default and deflated when the operator asks for it', async () => {
    const methods = async (extra: Record<string, number>): Promise<string[]> => {
      const app = await startPacker(extra);
      const run = await createRun();
      await expectEventually(async () => (await runOf(run.id)).status === 'dispatching', { timeoutMs: 30_000 });
      await bed.stop(app);
      const file = join(bed.artifactDir, `${run.id}.sar`);
      expect((await verifySar(file)).ok).toBe(true);
      const { entries } = await listSar(file);
      return [...new Set(entries.filter((e) => e.path.endsWith('.wav')).map((e) => e.method))];
    };
    expect(await methods({})).toEqual(['store']);
    expect(await methods({ SAR_AUDIO_DEFLATE_LEVEL: 2 })).toEqual(['deflate']);
  });

  it('defers a run while archiving holds the maintenance lock, by the configured delay, then packs it', async () => {
    const lock = bed.lock(5000);
    const held = await lock.acquireLease('archive:someone');
    expect(held.acquired).toBe(true);
    await startPacker();
    const run = await createRun();
    const deferred = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'deferred' ? r : null;
    }, { timeoutMs: 20_000 });
    expect(deferred.deferrals[0].heldBy).toBe('archive:someone');
    const delay = new Date(deferred.deferrals[0].until).getTime() - new Date(deferred.deferrals[0].at).getTime();
    expect(delay).toBeGreaterThanOrEqual(1500);
    expect(delay).toBeLessThan(2500);
    if (held.acquired) await held.lease.release();
    const packed = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'dispatching' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(packed.startedAt!.getTime()).toBeGreaterThanOrEqual(new Date(deferred.deferrals[0].until).getTime() - 100);
  });

  it('two packers racing for two runs never pack at the same time: one defers', async () => {
    await startPacker();
    await startPacker();
    const [a, b] = await Promise.all([createRun(), createRun()]);
    const done = await expectEventually(async () => {
      const rs = await Promise.all([runOf(a.id), runOf(b.id)]);
      return rs.every((r) => r.status === 'dispatching') ? rs : null;
    }, { timeoutMs: 60_000 });
    expect(done.reduce((n, r) => n + r.deferrals.length, 0)).toBeGreaterThanOrEqual(1);
    const [first, second] = [...done].sort((x, y) => x.startedAt!.getTime() - y.startedAt!.getTime());
    expect(second.startedAt!.getTime()).toBeGreaterThanOrEqual(first.packedAt!.getTime());
  });

  it('fails the run with a clear reason and backup.failed when the PBX database is unreachable', async () => {
    await startPacker({ PBX_DATABASE_URL: 'postgres://postgres@127.0.0.1:5999/pbx', PBX_DATABASE_SCHEMA: undefined, MAINTENANCE_DEFER_MS: undefined, MAINTENANCE_LOCK_TTL_MS: undefined });
    const run = await createRun();
    const failed = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'failed' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(failed.error).toMatch(/PBX database is unreachable/);
    const [ev] = await bed.db.dataSource.query(`SELECT payload FROM outbox WHERE correlation_id = $1 AND type = 'backup.failed'`, [run.id]);
    expect(ev.payload).toMatchObject({ status: 'failed', step: 'packing' });
    expect(existsSync(join(bed.artifactDir, `${run.id}.sar.partial`))).toBe(false);

    // A failed runOnly run is final: its configuration's sealed secrets are erased; a kept configuration's stay.
    const runOnly = await createRun(uniqueName('once'), true);
    await expectEventually(async () => (await runOf(runOnly.id)).status === 'failed', { timeoutMs: 30_000 });
    const secrets = async (r: RunEntity) => (await bed.db.dataSource.manager.findOneByOrFail(DestinationEntity, { configurationId: r.configurationId! })).secrets;
    expect(await secrets(runOnly)).toEqual({});
    expect(await secrets(run)).toEqual({ password: 'sealed' });
  });

  it('unknown run ids are acknowledged without effect', async () => {
    await startPacker();
    await bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: 'x' }));
    await expectEventually(async () => {
      const [{ n }] = await bed.db.dataSource.query('SELECT count(*)::int AS n FROM inbox');
      expect(n).toBe(1);
    });
  });
});

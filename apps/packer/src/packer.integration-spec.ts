import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { MaintenanceLock } from '@pbx/locking';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity, RunEntity, RunsRepository } from '@pbx/persistence';
import { migratePbxSchema, seedPbx } from '@pbx/pbx-source';
import { startApp } from '@pbx/runtime';
import { listSar, verifySar } from '@pbx/sar';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, freshSchema, migratedDatabase, tempDir, testEnv, testUrls, uniqueName } from '@pbx/testing';
import { PackerModule } from './packer.module';

const logger = createLogger({ service: 'packer-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('packer (real Postgres, RabbitMQ, Redis)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let pbx: Awaited<ReturnType<typeof freshSchema>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let ns: string;
  let lockKey: string;
  const apps: INestApplication[] = [];
  let redis: Redis;

  beforeAll(async () => {
    pbx = await freshSchema('pbx');
    dirs = await tempDir();
    await migratePbxSchema({ databaseUrl: testUrls.database, schema: pbx.name });
    await seedPbx({ databaseUrl: testUrls.database, schema: pbx.name, dataDir: join(dirs.path, 'pbx'), users: 10, cdr: 500, voicemails: 4, announcements: 2, minAudioBytes: 20_000, maxAudioBytes: 40_000 });
    redis = new Redis(testUrls.redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await pbx.drop();
    await dirs.remove();
  });
  beforeEach(async () => {
    db = await migratedDatabase('pk');
    ns = amqpNamespace();
    lockKey = uniqueName('lock');
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await deleteAmqpNamespace(ns);
    await db.close();
  });

  async function startPacker(extra: Record<string, string | number> = {}): Promise<INestApplication> {
    const env = testEnv({
      DATABASE_SCHEMA: db.schema,
      PBX_DATABASE_SCHEMA: pbx.name,
      PBX_DATA_DIR: join(dirs.path, 'pbx'),
      ARTIFACT_DIR: join(dirs.path, `artifacts-${db.schema}`),
      AMQP_NAMESPACE: ns,
      MAINTENANCE_LOCK_KEY: lockKey,
      MAINTENANCE_DEFER_MS: 1500,
      MAINTENANCE_LOCK_TTL_MS: 3000,
      ...extra,
    });
    const app = await startApp({ service: 'packer', env, logger, module: PackerModule.forRoot(env, logger), queues: ['packer.jobs.v1', 'archiver.finalize.v1'], port: 0 });
    apps.push(app);
    return app;
  }

  async function createRun(ds: DataSource, name = uniqueName('cfg'), ephemeral = false): Promise<RunEntity> {
    return ds.transaction(async (tx) => {
      const cfg = await tx.save(
        tx.create(ConfigurationEntity, {
          kind: 'backup', name, nameKey: name.toLowerCase(), reportTo: 'ops@example.com', interval: 'manual', startAt: null, timezone: 'UTC',
          data: { coreData: true, cdrAndVoicemails: true, announcements: false }, keepLast: null, notifyOnSuccess: false, language: 'en', ephemeral,
        }),
      );
      await tx.save(tx.create(DestinationEntity, { configurationId: cfg.id, position: 0, type: 'local', settings: {}, secrets: { password: 'sealed' } }));
      return new RunsRepository(ds, new OutboxWriter(db.schema)).createRun(tx, { configuration: cfg, trigger: ephemeral ? 'runOnly' : 'manual' });
    });
  }

  const runOf = (id: string) => db.dataSource.manager.findOneByOrFail(RunEntity, { id });

  it('packs a due run into a verified .sar with only the selected sections and publishes backup.packed', async () => {
    await startPacker();
    const run = await createRun(db.dataSource);
    const packed = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'dispatching' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(packed.artifactFileName).toMatch(new RegExp(`_\\d{8}-\\d{6}_${run.id.slice(0, 8)}\\.sar$`));
    expect(packed.startedAt).not.toBeNull();
    const file = join(dirs.path, `artifacts-${db.schema}`, `${run.id}.sar`);
    const verified = await verifySar(file);
    expect(verified.ok).toBe(true);
    if (verified.ok) {
      expect(verified.manifest.sections.sort()).toEqual(['cdr', 'core', 'voicemail']);
    }
    expect(readdirSync(join(dirs.path, `artifacts-${db.schema}`)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const events: { type: string }[] = await db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1 ORDER BY created_at`, [run.id]);
    expect(events.map((e) => e.type)).toEqual(['backup.due', 'backup.packed']);
  });

  it('SAR_AUDIO_DEFLATE_LEVEL: audio is stored by default and deflated when the operator asks for it', async () => {
    const methods = async (extra: Record<string, number>): Promise<string[]> => {
      const app = await startPacker(extra);
      const run = await createRun(db.dataSource);
      await expectEventually(async () => (await runOf(run.id)).status === 'dispatching', { timeoutMs: 30_000 });
      await app.close();
      apps.splice(apps.indexOf(app), 1);
      const file = join(dirs.path, `artifacts-${db.schema}`, `${run.id}.sar`);
      expect((await verifySar(file)).ok).toBe(true);
      const { entries } = await listSar(file);
      return [...new Set(entries.filter((e) => e.path.endsWith('.wav')).map((e) => e.method))];
    };
    expect(await methods({})).toEqual(['store']);
    expect(await methods({ SAR_AUDIO_DEFLATE_LEVEL: 2 })).toEqual(['deflate']);
  });

  it('defers a run while archiving holds the maintenance lock, by the configured delay, then packs it', async () => {
    const lock = new MaintenanceLock(redis, { key: lockKey, ttlMs: 5000 });
    const held = await lock.acquireLease('archive:someone');
    expect(held.acquired).toBe(true);
    await startPacker();
    const run = await createRun(db.dataSource);
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
    const [a, b] = await Promise.all([createRun(db.dataSource), createRun(db.dataSource)]);
    const done = await expectEventually(async () => {
      const rs = await Promise.all([runOf(a.id), runOf(b.id)]);
      return rs.every((r) => r.status === 'dispatching') ? rs : null;
    }, { timeoutMs: 60_000 });
    expect(done.reduce((n, r) => n + r.deferrals.length, 0)).toBeGreaterThanOrEqual(1);
    const [first, second] = [...done].sort((x, y) => x.startedAt!.getTime() - y.startedAt!.getTime());
    expect(second.startedAt!.getTime()).toBeGreaterThanOrEqual(first.packedAt!.getTime());
  });

  it('fails the run with a clear reason and backup.failed when the PBX database is unreachable', async () => {
    const env = testEnv({
      DATABASE_SCHEMA: db.schema, PBX_DATABASE_URL: 'postgres://postgres@127.0.0.1:5999/pbx', PBX_DATA_DIR: join(dirs.path, 'pbx'),
      ARTIFACT_DIR: join(dirs.path, `artifacts-${db.schema}`), AMQP_NAMESPACE: ns, MAINTENANCE_LOCK_KEY: lockKey,
    });
    apps.push(await startApp({ service: 'packer', env, logger, module: PackerModule.forRoot(env, logger), queues: ['packer.jobs.v1', 'archiver.finalize.v1'], port: 0 }));
    const run = await createRun(db.dataSource);
    const failed = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'failed' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(failed.error).toMatch(/PBX database is unreachable/);
    const [ev] = await db.dataSource.query(`SELECT payload FROM outbox WHERE correlation_id = $1 AND type = 'backup.failed'`, [run.id]);
    expect(ev.payload).toMatchObject({ status: 'failed', step: 'packing' });
    expect(existsSync(join(dirs.path, `artifacts-${db.schema}`, `${run.id}.sar.partial`))).toBe(false);

    // A failed runOnly run is final: its configuration's sealed secrets are erased; a kept configuration's stay.
    const runOnly = await createRun(db.dataSource, uniqueName('once'), true);
    await expectEventually(async () => (await runOf(runOnly.id)).status === 'failed', { timeoutMs: 30_000 });
    const secrets = async (r: RunEntity) => (await db.dataSource.manager.findOneByOrFail(DestinationEntity, { configurationId: r.configurationId! })).secrets;
    expect(await secrets(runOnly)).toEqual({});
    expect(await secrets(run)).toEqual({ password: 'sealed' });
  });

  it('unknown run ids are acknowledged without effect', async () => {
    await startPacker();
    await db.dataSource.transaction((tx) => new OutboxWriter(db.schema).enqueue(tx, 'backup.due', { runId: randomUUID(), kind: 'backup' }, { correlationId: 'x' }));
    await expectEventually(async () => {
      const [{ n }] = await db.dataSource.query('SELECT count(*)::int AS n FROM inbox');
      expect(n).toBe(1);
    });
  });
});

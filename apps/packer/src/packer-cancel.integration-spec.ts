import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { MaintenanceLock } from '@pbx/locking';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity, RunEntity, RunLifecycle, RunsRepository } from '@pbx/persistence';
import { migratePbxSchema, seedPbx, type PbxSource } from '@pbx/pbx-source';
import { startApp } from '@pbx/runtime';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, freshSchema, migratedDatabase, tempDir, testEnv, testUrls, uniqueName } from '@pbx/testing';
import { PackerModule } from './packer.module';
import { PBX_SOURCE } from './packer.tokens';

const logger = createLogger({ service: 'packer-cancel-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('packer: a cancelled run (real Postgres, RabbitMQ, Redis)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let pbx: Awaited<ReturnType<typeof freshSchema>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let ns: string;
  let lockKey: string;
  let redis: Redis;
  const apps: INestApplication[] = [];
  const artifactDir = () => join(dirs.path, `artifacts-${db.schema}`);

  beforeAll(async () => {
    pbx = await freshSchema('pbx');
    dirs = await tempDir();
    await migratePbxSchema({ databaseUrl: testUrls.database, schema: pbx.name });
    await seedPbx({ databaseUrl: testUrls.database, schema: pbx.name, dataDir: join(dirs.path, 'pbx'), users: 5, cdr: 200, voicemails: 12, announcements: 2, minAudioBytes: 20_000, maxAudioBytes: 40_000 });
    redis = new Redis(testUrls.redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await pbx.drop();
    await dirs.remove();
  });
  beforeEach(async () => {
    db = await migratedDatabase('pkc');
    ns = amqpNamespace();
    lockKey = uniqueName('lock');
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await deleteAmqpNamespace(ns);
    await db.close();
  });

  /** A packer whose PBX hands out each audio file 300 ms late: a pack that takes seconds (the slow PBX). */
  async function startSlowPacker(): Promise<INestApplication> {
    const env = testEnv({
      DATABASE_SCHEMA: db.schema, PBX_DATABASE_SCHEMA: pbx.name, PBX_DATA_DIR: join(dirs.path, 'pbx'), ARTIFACT_DIR: artifactDir(),
      AMQP_NAMESPACE: ns, MAINTENANCE_LOCK_KEY: lockKey, MAINTENANCE_DEFER_MS: 60_000, MAINTENANCE_LOCK_TTL_MS: 3000,
    });
    const app = await startApp({ service: 'packer', env, logger, module: PackerModule.forRoot(env, logger), queues: ['packer.jobs.v1', 'archiver.finalize.v1'], port: 0 });
    apps.push(app);
    const source = app.get<PbxSource>(PBX_SOURCE);
    const audioFiles = source.audioFiles.bind(source);
    jest.spyOn(source, 'audioFiles').mockImplementation(async function* (...args: Parameters<PbxSource['audioFiles']>) {
      for await (const file of audioFiles(...args)) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        yield file;
      }
    });
    return app;
  }

  async function createRun(ds: DataSource): Promise<RunEntity> {
    const name = uniqueName('cfg');
    return ds.transaction(async (tx) => {
      const cfg = await tx.save(
        tx.create(ConfigurationEntity, {
          kind: 'backup', name, nameKey: name.toLowerCase(), reportTo: 'ops@example.com', interval: 'manual', startAt: null, timezone: 'UTC',
          data: { coreData: true, cdrAndVoicemails: true, announcements: true }, keepLast: null, notifyOnSuccess: false, language: 'en', ephemeral: false,
        }),
      );
      await tx.save(tx.create(DestinationEntity, { configurationId: cfg.id, position: 0, type: 'local', settings: {}, secrets: {} }));
      return new RunsRepository(ds, new OutboxWriter(db.schema)).createRun(tx, { configuration: cfg, trigger: 'manual' });
    });
  }

  const runOf = (id: string) => db.dataSource.manager.findOneByOrFail(RunEntity, { id });
  /** What the api's cancel does to the row (RunLifecycle is the one writer). */
  const cancel = (id: string) => db.dataSource.transaction((tx) => new RunLifecycle().transition(tx, id, { to: 'cancelled', error: null }));
  const eventsOf = async (id: string): Promise<string[]> =>
    (await db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1 ORDER BY created_at`, [id])).map((e: { type: string }) => e.type);

  it('packing: the writer stops at its next chunk, the partial archive is removed, the lock is released, nothing is announced', async () => {
    await startSlowPacker();
    const run = await createRun(db.dataSource);
    await expectEventually(async () => (await runOf(run.id)).status === 'packing' && existsSync(join(artifactDir(), `${run.id}.sar.partial`)), { timeoutMs: 20_000 });
    const lock = new MaintenanceLock(redis, { key: lockKey, ttlMs: 3000 });
    expect(await lock.currentHolder()).toBe(`backup:${run.id}`);

    expect((await cancel(run.id)).applied).toBe(true);
    await expectEventually(async () => (await lock.currentHolder()) === null, { timeoutMs: 10_000 });
    expect(readdirSync(artifactDir()).filter((f) => f.startsWith(run.id))).toEqual([]);
    const after = await runOf(run.id);
    expect(after).toMatchObject({ status: 'cancelled', packedAt: null, artifactFileName: null });
    // Stopped, not finished: a pack that ran to its end would have announced backup.packed.
    expect(await eventsOf(run.id)).toEqual(['backup.due']);
  });

  it('queued: a run cancelled before the packer takes its message never takes the lock and is never packed', async () => {
    const run = await createRun(db.dataSource);
    await cancel(run.id);
    const lock = new MaintenanceLock(redis, { key: lockKey, ttlMs: 3000 });
    const acquired: string[] = [];
    const acquire = jest.spyOn(MaintenanceLock.prototype, 'acquireLease').mockImplementation(async function (this: MaintenanceLock, holder: string) {
      acquired.push(holder);
      throw new Error('the lock must not be asked for');
    });
    try {
      await startSlowPacker();
      // The due event is consumed (acked, not retried) with nothing to do.
      await expectEventually(async () => (await db.dataSource.query(`SELECT 1 FROM inbox WHERE message_id IN (SELECT id FROM outbox WHERE correlation_id = $1)`, [run.id])).length === 1, { timeoutMs: 20_000 });
    } finally {
      acquire.mockRestore();
    }
    expect(acquired).toEqual([]);
    expect(await lock.currentHolder()).toBeNull();
    expect((await runOf(run.id)).status).toBe('cancelled');
    expect(existsSync(artifactDir()) ? readdirSync(artifactDir()).filter((f) => f.startsWith(run.id)) : []).toEqual([]);
  });
});

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Client } from 'pg';
import { MaintenanceLock } from '@pbx/locking';
import { OutboxWriter } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity, RestoreEntity, RestoresRepository, RunEntity, RunsRepository } from '@pbx/persistence';
import { PostgresPbxSource, walkFiles, type SeedPbxOptions } from '@pbx/pbx-source';
import { startApp } from '@pbx/runtime';
import { writeSar } from '@pbx/sar';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, migratedDatabase, seededPbx, tempDir, testUrls, testEnv, uniqueName, type SeededPbx } from '@pbx/testing';
import { PackerModule } from './packer.module';

type EnvOverrides = Record<string, string | number | boolean | undefined>;

export interface PackerTestBedOptions {
  logger: Logger;
  /** The spec's defaults, under each start's overrides. */
  env?: EnvOverrides;
  /**
   * 'test' (default): schema, broker namespace, lock key, folder and packers are new for every
   * test; 'suite': one set for the whole describe (specs whose tests build on one another).
   */
  scope?: 'test' | 'suite';
  /**
   * A seeded PBX of the spec's own (schema `prefix…` and data folder), once per suite unless
   * `perTest` (a spec whose tests change the PBX). Without it the packers get no PBX_DATABASE_SCHEMA.
   */
  pbx?: { prefix: string; seed: Omit<SeedPbxOptions, 'databaseUrl' | 'schema' | 'dataDir'>; perTest?: boolean };
}

/**
 * What one packer integration test owns: its migrated schema, broker namespace, maintenance
 * lock key (and a Redis connection to it), folder with the artifact dir, the seeded PBX when
 * asked for, and the packers it starts on them — all removed afterwards. Call at the top of a
 * `describe`: it registers its hooks first, so the spec's own before-hooks see the bed set up
 * (and the spec's after-hooks run once the bed is torn down: Jest keeps registration order).
 */
export interface PackerTestBed {
  readonly db: Awaited<ReturnType<typeof migratedDatabase>>;
  readonly ns: string;
  /** MAINTENANCE_LOCK_KEY of this test's packers. */
  readonly lockKey: string;
  readonly redis: Redis;
  readonly pbx: SeededPbx;
  /** A folder of the test's own (the bed's scope); ARTIFACT_DIR is `artifacts` in it. */
  readonly dir: string;
  readonly artifactDir: string;
  /** Starts a packer (consuming packer.jobs and archiver.finalize) with the bed's environment, the spec's defaults and `overrides`. */
  start(overrides?: EnvOverrides): Promise<INestApplication>;
  /** Closes a packer the test started before the test ends (a crash, a restart). */
  stop(app: INestApplication): Promise<void>;
  /** Another process's view of the test's maintenance lock. */
  lock(ttlMs: number): MaintenanceLock;
  /**
   * A run of a manual configuration (backup of core data, UTC unless `fields` say otherwise) with
   * one local destination holding `secrets`; its due event is in the outbox. Ephemeral: trigger runOnly.
   */
  run(fields?: Partial<ConfigurationEntity>, destination?: { secrets?: Record<string, string> }): Promise<RunEntity>;
  runOf(id: string): Promise<RunEntity>;
}

export function packerTestBed(prefix: string, options: PackerTestBedOptions): PackerTestBed {
  const perTest = (options.scope ?? 'test') === 'test';
  // The PBX shares the other hooks unless it outlives them (once per suite, the rest per test).
  const pbxApart = options.pbx !== undefined && perTest && !options.pbx.perTest;
  let db: PackerTestBed['db'] | undefined;
  let dirs: Awaited<ReturnType<typeof tempDir>> | undefined;
  let ns: string | undefined;
  let lockKey: string | undefined;
  let redis: Redis | undefined;
  let pbx: SeededPbx | undefined;
  const apps: INestApplication[] = [];
  const need = <T>(value: T | undefined, what = 'used outside a test'): T => {
    if (value === undefined) throw new Error(`packerTestBed: ${what}`);
    return value;
  };
  const seedPbx = async () => {
    if (options.pbx) pbx = await seededPbx(options.pbx.prefix, options.pbx.seed);
  };
  const dropPbx = async () => {
    await pbx?.close();
    pbx = undefined;
  };

  beforeAll(() => {
    redis = new Redis(testUrls.redis);
  });
  if (pbxApart) {
    beforeAll(seedPbx);
    afterAll(dropPbx);
  }
  (perTest ? beforeEach : beforeAll)(async () => {
    dirs = await tempDir();
    if (!pbxApart) await seedPbx();
    db = await migratedDatabase(prefix);
    ns = amqpNamespace();
    lockKey = uniqueName('lock');
  });
  (perTest ? afterEach : afterAll)(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    if (lockKey) await redis?.del(lockKey, `${lockKey}:holder`); // MaintenanceLock's key and its holder side key
    if (ns) await deleteAmqpNamespace(ns);
    await db?.close();
    if (!pbxApart) await dropPbx();
    await dirs?.remove();
    [db, dirs, ns, lockKey] = [undefined, undefined, undefined, undefined];
  });
  // Jest runs after-hooks in the order they were registered: the connection goes last.
  afterAll(() => redis?.disconnect());

  const bed: PackerTestBed = {
    get db() {
      return need(db);
    },
    get ns() {
      return need(ns);
    },
    get lockKey() {
      return need(lockKey);
    },
    get redis() {
      return need(redis);
    },
    get pbx() {
      return need(pbx, options.pbx ? 'used outside a test' : 'no pbx in the options');
    },
    get dir() {
      return need(dirs).path;
    },
    get artifactDir() {
      return join(bed.dir, 'artifacts');
    },
    async start(overrides = {}) {
      const env = testEnv({
        DATABASE_SCHEMA: bed.db.schema, PBX_DATABASE_SCHEMA: pbx?.schema, PBX_DATA_DIR: pbx?.dataDir ?? join(bed.dir, 'pbx'), ARTIFACT_DIR: bed.artifactDir,
        AMQP_NAMESPACE: bed.ns, MAINTENANCE_LOCK_KEY: bed.lockKey, ...options.env, ...overrides,
      });
      const app = await startApp({ service: 'packer', env, logger: options.logger, module: PackerModule.forRoot(env, options.logger), queues: ['packer.jobs.v1', 'archiver.finalize.v1'], port: 0 });
      apps.push(app);
      return app;
    },
    async stop(app) {
      await app.close();
      apps.splice(apps.indexOf(app), 1);
    },
    lock(ttlMs) {
      return new MaintenanceLock(bed.redis, { key: bed.lockKey, ttlMs });
    },
    async run(fields = {}, { secrets = {} } = {}) {
      const { dataSource, schema } = bed.db;
      const name = fields.name ?? uniqueName('cfg');
      return dataSource.transaction(async (tx) => {
        const cfg = await tx.save(tx.create(ConfigurationEntity, {
          kind: 'backup', reportTo: 'ops@example.com', interval: 'manual', startAt: null, timezone: 'UTC',
          data: { coreData: true, cdrAndVoicemails: false, announcements: false }, keepLast: null, notifyOnSuccess: false, language: 'en', ephemeral: false,
          ...fields, name, nameKey: name.toLowerCase(),
        }));
        await tx.save(tx.create(DestinationEntity, { configurationId: cfg.id, position: 0, type: 'local', settings: {}, secrets }));
        return new RunsRepository(dataSource, new OutboxWriter(schema)).createRun(tx, { configuration: cfg, trigger: cfg.ephemeral ? 'runOnly' : 'manual' });
      });
    },
    runOf(id) {
      return bed.db.dataSource.manager.findOneByOrFail(RunEntity, { id });
    },
  };
  return bed;
}

/** What the restore specs add to a suite-scoped bed with a PBX. */
export interface RestoreFixture {
  /** A client on the PBX's database (its tables are in `bed.pbx.schema`). */
  readonly pg: Client;
  readonly repo: RestoresRepository;
  /** A full backup of the freshly seeded PBX, written before the tests. */
  readonly sarPath: string;
  /** The CDR table and the voicemail files: what the cdrAndVoicemails section holds. */
  fingerprint(): Promise<{ cdr: string[]; audio: Record<string, string> }>;
  /** The restore once it is final. */
  finalOf(id: string): Promise<RestoreEntity>;
}

/** Before the tests: the seeded PBX packed as `seeded.sar` (from `pbxId`), a PBX client, and one packer started on the bed. */
export function restoreFixture(bed: PackerTestBed, pbxId: string): RestoreFixture {
  let pg: Client | undefined;
  let repo: RestoresRepository | undefined;
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('restoreFixture: used outside a test');
    return value;
  };
  beforeAll(async () => {
    const source = new PostgresPbxSource({ databaseUrl: testUrls.database, schema: bed.pbx.schema, dataDir: bed.pbx.dataDir });
    try {
      await writeSar({ source, sections: { coreData: true, cdrAndVoicemails: true, announcements: true }, outPath: join(bed.dir, 'seeded.sar'), configurationName: 'seeded', pbxId, kind: 'backup' });
    } finally {
      await source.close();
    }
    pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    repo = new RestoresRepository(bed.db.dataSource, new OutboxWriter(bed.db.schema));
    await bed.start();
  });
  afterAll(async () => {
    await pg?.end();
    [pg, repo] = [undefined, undefined];
  });

  const fixture: RestoreFixture = {
    get pg() {
      return need(pg);
    },
    get repo() {
      return need(repo);
    },
    get sarPath() {
      return join(bed.dir, 'seeded.sar');
    },
    async fingerprint() {
      const { rows } = await fixture.pg.query<{ r: string }>(`SELECT x::text AS r FROM "${bed.pbx.schema}".cdr x ORDER BY id`);
      const audio: Record<string, string> = {};
      for await (const f of walkFiles(bed.pbx.dataDir, 'voicemail')) audio[f.relativePath] = createHash('sha256').update(await readFile(f.absolutePath)).digest('hex');
      return { cdr: rows.map((r) => r.r), audio };
    },
    finalOf(id) {
      return expectEventually(async () => {
        const r = await bed.db.dataSource.manager.findOneByOrFail(RestoreEntity, { id });
        return ['succeeded', 'failed', 'rolled_back'].includes(r.status) ? r : null;
      }, { timeoutMs: 60_000 });
    },
  };
  return fixture;
}

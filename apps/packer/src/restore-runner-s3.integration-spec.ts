import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { S3ArtifactStore } from '@pbx/artifacts/s3';
import { uploadedArchiveOf } from '@pbx/destinations';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { RestoreEntity, RestoresRepository, RunEntity } from '@pbx/persistence';
import { migratePbxSchema, PostgresPbxSource, seedPbx, walkFiles } from '@pbx/pbx-source';
import { startApp } from '@pbx/runtime';
import { writeSar } from '@pbx/sar';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, freshSchema, migratedDatabase, peers, tempDir, testEnv, testUrls, uniqueName } from '@pbx/testing';
import { PackerModule } from './packer.module';

const PBX_ID = 'pbx-restore-s3-test';
const logger = createLogger({ service: 'restore-runner-s3-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** ARTIFACT_STORE=s3: an upload is read from the bucket, a restore's safety backup goes into it as its safety run's object, and the undo reads it from there. */
describe('packer: safety runs with ARTIFACT_STORE=s3 (s3rver; real Postgres, RabbitMQ, Redis)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let pbx: Awaited<ReturnType<typeof freshSchema>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let ns: string;
  let app: INestApplication;
  let pg: Client;
  let repo: RestoresRepository;
  let sarPath: string;
  const prefix = `${uniqueName('rst')}/`;
  const store = new S3ArtifactStore({ ...peers.s3, forcePathStyle: true, prefix });
  const pbxData = () => join(dirs.path, 'pbx');
  const artifacts = () => join(dirs.path, 'artifacts');

  async function fingerprint() {
    const { rows } = await pg.query<{ r: string }>(`SELECT x::text AS r FROM "${pbx.name}".cdr x ORDER BY id`);
    const audio: Record<string, string> = {};
    for await (const f of walkFiles(pbxData(), 'voicemail')) audio[f.relativePath] = createHash('sha256').update(await readFile(f.absolutePath)).digest('hex');
    return { cdr: rows.map((r) => r.r), audio };
  }

  const finalOf = (id: string) =>
    expectEventually(async () => {
      const r = await db.dataSource.manager.findOneByOrFail(RestoreEntity, { id });
      return ['succeeded', 'failed', 'rolled_back'].includes(r.status) ? r : null;
    }, { timeoutMs: 60_000 });

  beforeAll(async () => {
    pbx = await freshSchema('pbxrs3');
    dirs = await tempDir();
    await migratePbxSchema({ databaseUrl: testUrls.database, schema: pbx.name });
    await seedPbx({ databaseUrl: testUrls.database, schema: pbx.name, dataDir: pbxData(), users: 5, cdr: 120, voicemails: 3, announcements: 1, minAudioBytes: 10_000, maxAudioBytes: 20_000 });
    const source = new PostgresPbxSource({ databaseUrl: testUrls.database, schema: pbx.name, dataDir: pbxData() });
    sarPath = join(dirs.path, 'seeded.sar');
    await writeSar({ source, sections: { coreData: true, cdrAndVoicemails: true, announcements: true }, outPath: sarPath, configurationName: 'seeded', pbxId: PBX_ID, kind: 'backup' });
    await source.close();
    pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    db = await migratedDatabase('pkrs3');
    ns = amqpNamespace();
    repo = new RestoresRepository(db.dataSource, new OutboxWriter(db.schema));
    const env = testEnv({
      DATABASE_SCHEMA: db.schema, PBX_DATABASE_SCHEMA: pbx.name, PBX_DATA_DIR: pbxData(), PBX_ID, ARTIFACT_DIR: artifacts(),
      AMQP_NAMESPACE: ns, MAINTENANCE_LOCK_KEY: uniqueName('lock'), MAINTENANCE_RECHECK_MS: 100,
      ARTIFACT_STORE: 's3', S3_ENDPOINT: peers.s3.endpoint, S3_BUCKET: peers.s3.bucket, S3_PREFIX: prefix,
      S3_ACCESS_KEY_ID: peers.s3.accessKeyId, S3_SECRET_ACCESS_KEY: peers.s3.secretAccessKey, S3_FORCE_PATH_STYLE: true,
    });
    app = await startApp({ service: 'packer', env, logger, module: PackerModule.forRoot(env, logger), queues: ['packer.jobs.v1', 'archiver.finalize.v1'], port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await deleteAmqpNamespace(ns);
    await db?.close();
    await pg?.end();
    await pbx?.drop();
    await dirs?.remove();
  });

  it('the safety run\'s archive is an object in the bucket (nothing left on the packer\'s disk), and restoring that run undoes the restore', async () => {
    await pg.query(`DELETE FROM "${pbx.name}".cdr WHERE id IN (SELECT id FROM "${pbx.name}".cdr ORDER BY id LIMIT 9)`);
    const [first] = Object.keys((await fingerprint()).audio);
    await rm(join(pbxData(), first!));
    const before = await fingerprint();

    // The api puts a finished upload into the bucket; the packer reads it from there.
    const uploadId = crypto.randomUUID();
    const copy = join(dirs.path, `${uploadId}.sar`);
    await copyFile(sarPath, copy);
    await store.put(uploadedArchiveOf(uploadId, false), copy);
    const restore = await repo.request({ source: { uploadId }, sections: ['cdr', 'voicemail'], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const done = await finalOf(restore.id);
    expect(done.status).toBe('succeeded');
    expect(await fingerprint()).not.toEqual(before);

    const run = await db.dataSource.manager.findOneByOrFail(RunEntity, { id: done.safetyRunId! });
    expect(run).toMatchObject({ kind: 'safety', status: 'succeeded', restoreId: restore.id, configurationId: null });
    expect(await store.stat(`${run.id}.sar`)).toEqual(expect.objectContaining({ size: run.artifactSize }));
    const local = (await readdir(artifacts())).filter((n) => n !== 'restores');
    expect(local).toEqual([]);

    const undo = await repo.request({ source: { runId: run.id }, sections: [], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const undone = await finalOf(undo.id);
    expect(undone.status).toBe('succeeded');
    expect(await fingerprint()).toEqual(before);
    // The bucket is shared: this suite's objects go.
    for (const id of [run.id, undone.safetyRunId]) if (id) await store.remove(`${id}.sar`);
    await store.remove(uploadedArchiveOf(uploadId, false));
  });
});

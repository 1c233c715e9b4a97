import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { fetchedArchiveOf } from '@pbx/destinations';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity, RestoreEntity, RestoresRepository } from '@pbx/persistence';
import { startApp } from '@pbx/runtime';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, migratedDatabase, tempDir, testEnv, uniqueName } from '@pbx/testing';
import { DispatcherModule } from './dispatcher.module';

const logger = createLogger({ service: 'restore-fetch-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** restore.fetch-requested: a destination's stored copy is read back to the artifact folder, then the restore is asked for. */
describe('dispatcher: fetching a stored copy for a restore (real Postgres + RabbitMQ, local destination)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let ns: string;
  let app: INestApplication;
  let repo: RestoresRepository;

  beforeAll(async () => {
    db = await migratedDatabase('rfx');
    dirs = await tempDir();
    ns = amqpNamespace();
    repo = new RestoresRepository(db.dataSource, new OutboxWriter(db.schema));
    const env = testEnv({ DATABASE_SCHEMA: db.schema, AMQP_NAMESPACE: ns, ARTIFACT_DIR: join(dirs.path, 'artifacts'), LOCAL_BACKUP_ROOT: join(dirs.path, 'backups'), USB_MOUNT_ROOT: join(dirs.path, 'usb'), SECRETS_KEY: 'f6'.repeat(32) });
    app = await startApp({ service: 'dispatcher', env, logger, module: DispatcherModule.forRoot(env, logger), queues: ['dispatcher.packed.v1', 'dispatcher.deliver.v1'], port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await deleteAmqpNamespace(ns);
    await db?.close();
    await dirs?.remove();
  });

  it('copies the file to the artifact folder and asks for the restore; a missing file fails the restore', async () => {
    const name = uniqueName('Nightly');
    const cfg = await db.dataSource.manager.save(
      db.dataSource.manager.create(ConfigurationEntity, {
        kind: 'backup', name, nameKey: name.toLowerCase(), reportTo: 'ops@example.com', interval: 'manual', startAt: null, timezone: 'UTC',
        data: { coreData: true, cdrAndVoicemails: false, announcements: false }, keepLast: null, notifyOnSuccess: false, language: 'en',
      }),
    );
    const dest = await db.dataSource.manager.save(db.dataSource.manager.create(DestinationEntity, { configurationId: cfg.id, position: 0, type: 'local', settings: { path: 'nas' }, secrets: {} }));
    const folder = join(dirs.path, 'backups', 'nas', 'starface-backup', name);
    await mkdir(folder, { recursive: true });
    const content = randomBytes(200_000);
    await writeFile(join(folder, 'a.sar'), content);

    const ok = await repo.request({ source: { destinationId: dest.id, file: 'a.sar' }, sections: [], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    await expectEventually(async () => (await db.dataSource.manager.findOneByOrFail(RestoreEntity, { id: ok.id })).phase === 'fetched' || null);
    const copy = await readFile(join(dirs.path, 'artifacts', fetchedArchiveOf(ok.id)));
    expect(createHash('sha256').update(copy).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
    const events = await db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1 ORDER BY created_at`, [ok.id]);
    expect(events.map((e: { type: string }) => e.type)).toEqual(['restore.fetch-requested', 'restore.requested']);

    const gone = await repo.request({ source: { destinationId: dest.id, file: 'b.sar' }, sections: [], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const failed = await expectEventually(async () => {
      const r = await db.dataSource.manager.findOneByOrFail(RestoreEntity, { id: gone.id });
      return r.status === 'failed' ? r : null;
    });
    expect(failed.error).toMatch(/b\.sar is not at the destination/);
    await expect(stat(join(dirs.path, 'artifacts', fetchedArchiveOf(gone.id)))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

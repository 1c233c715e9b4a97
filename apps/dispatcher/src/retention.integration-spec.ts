import { DataSource } from 'typeorm';
import type { DestinationConfig, DestinationRegistry } from '@pbx/destinations';
import { createDestinationRegistry } from '@pbx/destinations/adapters';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger, type Logger } from '@pbx/observability';
import { ConfigurationEntity, DeliveryEntity, DestinationEntity, RunEntity, RunLifecycle, type RunSnapshot } from '@pbx/persistence';
import { DropboxFake, makeTestArchive, migratedDatabase, peerS3Destination, peerSftpDestination, peerSmbDestination, startDropboxFake, tempDir, uniqueName } from '@pbx/testing';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { DeliveriesRepository } from './deliveries.repository';
import { RetentionService } from './retention.service';

const logger = createLogger({ service: 'retention-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const DAY_MS = 86_400_000;

/**
 * Retention against real destinations (a local folder, the OpenSSH and Samba peers, the Dropbox
 * fake) and real Postgres: ten daily copies recorded as delivered, the first six written while
 * the configuration had its old name (a rename in between), plus a file in each folder this
 * service never recorded. The rules delete exactly the copies they do not keep, in both
 * folders, and nothing else.
 */
describe('retention per destination kind, across a rename (real peers, real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let tmp: { path: string; remove: () => Promise<void> };
  let fake: DropboxFake;
  let registry: DestinationRegistry;
  let archive: Awaited<ReturnType<typeof makeTestArchive>>;

  beforeAll(async () => {
    db = await migratedDatabase('ret');
    tmp = await tempDir('pbx-retention-');
    fake = await startDropboxFake();
    await mkdir(join(tmp.path, 'local'));
    archive = await makeTestArchive(tmp.path, 4096, 'src.sar');
    registry = createDestinationRegistry({
      localRoot: join(tmp.path, 'local'), usbRoot: join(tmp.path, 'usb'), smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'x@example.test',
      dropbox: { appKey: fake.appKey, appSecret: fake.appSecret, apiBase: fake.url }, tempDir: tmp.path,
    });
  });
  afterAll(async () => {
    await fake?.close();
    await db?.close();
    await tmp?.remove();
  });

  const sub = uniqueName('ret');
  const kinds: Array<[string, () => DestinationConfig]> = [
    ['local', () => ({ type: 'local', path: sub })],
    ['sftp', () => peerSftpDestination(sub) as DestinationConfig],
    ['smb (smbclient)', () => peerSmbDestination(sub) as DestinationConfig],
    ['dropbox (fake)', () => ({ type: 'dropbox', refreshToken: fake.issueRefreshToken(), path: `/${sub}` }) as DestinationConfig],
    ['s3 (s3rver)', () => peerS3Destination(sub) as DestinationConfig],
  ];

  async function seed(dataSource: DataSource, oldName: string, newName: string, kind: DestinationEntity['type']) {
    return dataSource.transaction(async (tx) => {
      const cfg = await tx.save(tx.create(ConfigurationEntity, {
        kind: 'backup', name: newName, nameKey: newName.toLowerCase(), reportTo: 'ops@example.com', interval: 'daily', startAt: '2026-11-01T23:30:00', timezone: 'Europe/Berlin',
        data: { coreData: true, cdrAndVoicemails: false, announcements: false }, keepLast: 2, keepWeekly: 2, keepMonthly: 2, notifyOnSuccess: false, language: 'en', ephemeral: false,
      }));
      const dest = await tx.save(tx.create(DestinationEntity, { configurationId: cfg.id, position: 0, type: kind, settings: {}, secrets: {} }));
      return { cfg, dest };
    });
  }

  it.each(kinds)('%s: deletes exactly the copies the rules do not keep, under the old name and the new', async (_kind, configOf) => {
    const config = configOf();
    const oldName = uniqueName('Nightly');
    const newName = uniqueName('Renamed');
    const { cfg, dest } = await seed(db.dataSource, oldName, newName, config.type);
    // Nov 1–10, 2026 at 23:30 Berlin (22:30Z); Nov 1 is a Sunday.
    const copies = Array.from({ length: 10 }, (_, i) => {
      const takenAt = new Date(Date.parse('2026-11-01T22:30:00Z') + i * DAY_MS);
      const folder = i < 6 ? oldName : newName;
      return { takenAt, folder, fileName: `${folder}_202611${String(i + 1).padStart(2, '0')}-233000.sar` };
    });
    for (const c of copies) {
      await registry.deliver(config, { ...archive, fileName: c.fileName, configurationName: c.folder });
      const snapshot: RunSnapshot = { name: c.folder, reportTo: 'ops@example.com', language: 'en', notifyOnSuccess: false, keepLast: 2, interval: 'daily', data: cfg.data, destinations: [{ id: dest.id, type: config.type }] };
      await db.dataSource.transaction(async (tx) => {
        const run = await tx.save(tx.create(RunEntity, { kind: 'backup', configurationId: cfg.id, configurationName: c.folder, trigger: 'schedule', status: 'succeeded', scheduledFor: c.takenAt, snapshot, artifactFileName: c.fileName }));
        await tx.save(tx.create(DeliveryEntity, { runId: run.id, destinationId: dest.id, type: config.type, status: 'succeeded', code: 'successful', location: `starface-backup/${c.folder}/${c.fileName}`, finishedAt: new Date(c.takenAt.getTime() + 60_000) }));
      });
    }
    // Files this service never recorded: never touched, whatever their names.
    await registry.deliver(config, { ...archive, fileName: `${oldName}_20261102-233000.copy.sar`, configurationName: oldName });
    await registry.deliver(config, { ...archive, fileName: 'manual.sar', configurationName: newName });

    const service = new RetentionService(new DeliveriesRepository(db.dataSource, new OutboxWriter(db.schema), new RunLifecycle()), registry, logger);
    const latest: RunSnapshot = { name: newName, reportTo: 'ops@example.com', language: 'en', notifyOnSuccess: false, keepLast: 2, keepWeekly: 2, keepMonthly: 2, maxAgeDays: null, timezone: 'Europe/Berlin', interval: 'daily', data: cfg.data, destinations: [] };
    const pruned = await service.apply(latest, cfg.id, dest.id, config, new Date('2026-11-11T12:00:00Z'));

    // keepLast 2: Nov 10, 9; keepWeekly 2: Nov 10 (week of Nov 9), Nov 8 (Sunday, week of Nov 2);
    // keepMonthly 2: Nov 10, and with one count left the oldest copy, Nov 1 (under the old name).
    expect(pruned.map((f) => f.fileName).sort()).toEqual([...copies.slice(1, 7)].map((c) => c.fileName).sort());
    expect(await registry.list(config, oldName)).toEqual([copies[0].fileName, `${oldName}_20261102-233000.copy.sar`].sort());
    expect(await registry.list(config, newName)).toEqual([...copies.slice(7).map((c) => c.fileName), 'manual.sar'].sort());
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE destination_id = $1 AND pruned_at IS NOT NULL`, [dest.id]);
    expect(n).toBe(6);

    // Run again: nothing more to do.
    expect(await service.apply(latest, cfg.id, dest.id, config, new Date('2026-11-11T12:00:00Z'))).toEqual([]);
    // maxAgeDays 2 a day later: everything older than 2 days goes unless keepLast keeps it (Nov 9, 10); Nov 8 and Nov 1 go.
    const aged = await service.apply({ ...latest, maxAgeDays: 2 }, cfg.id, dest.id, config, new Date('2026-11-11T12:00:00Z'));
    expect(aged.map((f) => f.fileName).sort()).toEqual([copies[0].fileName, copies[7].fileName].sort());
    expect(await registry.list(config, oldName)).toEqual([`${oldName}_20261102-233000.copy.sar`]);
    expect(await registry.list(config, newName)).toEqual([...copies.slice(8).map((c) => c.fileName), 'manual.sar'].sort());
  }, 120_000);
  it('s3 with objectLockDays: a copy still locked is never deleted, reported, and not counted pruned; the others go', async () => {
    const config = peerS3Destination(uniqueName('lock')) as DestinationConfig;
    const name = uniqueName('Locked');
    const { cfg, dest } = await seed(db.dataSource, name, name, 's3');
    const copies = Array.from({ length: 4 }, (_, i) => ({ takenAt: new Date(Date.parse('2026-11-01T22:30:00Z') + i * DAY_MS), fileName: `${name}_2026110${i + 2}-233000.sar` }));
    for (const [i, c] of copies.entries()) {
      // The two oldest under a one-day lock (from now): still locked when retention runs.
      await registry.deliver(i < 2 ? { ...config, objectLockDays: 1 } as DestinationConfig : config, { ...archive, fileName: c.fileName, configurationName: name });
      const snapshot: RunSnapshot = { name, reportTo: 'ops@example.com', language: 'en', notifyOnSuccess: false, keepLast: 1, interval: 'daily', data: cfg.data, destinations: [{ id: dest.id, type: 's3' }] };
      await db.dataSource.transaction(async (tx) => {
        const run = await tx.save(tx.create(RunEntity, { kind: 'backup', configurationId: cfg.id, configurationName: name, trigger: 'schedule', status: 'succeeded', scheduledFor: c.takenAt, snapshot, artifactFileName: c.fileName }));
        await tx.save(tx.create(DeliveryEntity, { runId: run.id, destinationId: dest.id, type: 's3', status: 'succeeded', code: 'successful', location: `starface-backup/${name}/${c.fileName}`, finishedAt: c.takenAt }));
      });
    }
    const warned: Array<Record<string, unknown>> = [];
    const recording = { info: () => undefined, warn: (fields: Record<string, unknown>) => warned.push(fields) } as unknown as Logger;
    const service = new RetentionService(new DeliveriesRepository(db.dataSource, new OutboxWriter(db.schema), new RunLifecycle()), registry, recording);
    const latest: RunSnapshot = { name, reportTo: 'ops@example.com', language: 'en', notifyOnSuccess: false, keepLast: 1, timezone: 'UTC', interval: 'daily', data: cfg.data, destinations: [] };

    const pruned = await service.apply(latest, cfg.id, dest.id, config);
    expect(pruned.map((f) => f.fileName)).toEqual([copies[2].fileName]);
    expect(await registry.list(config, name)).toEqual([copies[0].fileName, copies[1].fileName, copies[3].fileName]);
    expect(warned.map((w) => w.fileName).sort()).toEqual([copies[0].fileName, copies[1].fileName]);
    expect(Date.parse(String(warned[0].retainUntil))).toBeGreaterThan(Date.now() + DAY_MS - 120_000);
    const unpruned = await db.dataSource.query(`SELECT location FROM deliveries WHERE destination_id = $1 AND pruned_at IS NULL ORDER BY location`, [dest.id]);
    expect(unpruned.map((r: { location: string }) => r.location)).toEqual([0, 1, 3].map((i) => `starface-backup/${name}/${copies[i].fileName}`));
  }, 60_000);
});

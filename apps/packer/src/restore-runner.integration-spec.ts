import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchedArchiveOf, uploadedArchiveOf } from '@pbx/destinations';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { DeliveryEntity, RestoreEntity, RunEntity } from '@pbx/persistence';
import { SecretBox } from '@pbx/secrets';
import { packerTestBed, restoreFixture } from './packer.test-helper';

const SECRETS_KEY = 'e5'.repeat(32);
const PBX_ID = 'pbx-restore-test';
const logger = createLogger({ service: 'restore-runner-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** restore.requested through a real packer: an upload is restored into the PBX, a damaged one refused naming the entry. */
describe('packer: restores (real Postgres, RabbitMQ, Redis; seeded PBX)', () => {
  // One packer and one PBX for the suite: the tests go on from the state the one before left.
  const bed = packerTestBed('pkrst', {
    logger,
    scope: 'suite',
    pbx: { prefix: 'pbxrst', seed: { users: 10, cdr: 300, voicemails: 4, announcements: 1, minAudioBytes: 20_000, maxAudioBytes: 30_000 } },
    env: { PBX_ID, MAINTENANCE_RECHECK_MS: 100, SECRETS_KEY },
  });
  const fixture = restoreFixture(bed, PBX_ID);
  const { fingerprint, finalOf } = fixture;
  const pbxData = () => bed.pbx.dataDir;
  const artifacts = () => bed.artifactDir;

  async function upload(from: string): Promise<string> {
    const uploadId = crypto.randomUUID();
    await mkdir(join(artifacts(), 'uploads'), { recursive: true });
    await copyFile(from, join(artifacts(), uploadedArchiveOf(uploadId, from.endsWith('.age'))));
    return uploadId;
  }

  it('restores CDRs and voicemails from an upload: deleted rows and a deleted recording come back, a safety backup is kept, the key is erased', async () => {
    const seeded = await fingerprint();
    await fixture.pg.query(`DELETE FROM "${bed.pbx.schema}".cdr WHERE id IN (SELECT id FROM "${bed.pbx.schema}".cdr ORDER BY id LIMIT 25)`);
    const [first] = Object.keys(seeded.audio);
    await rm(join(pbxData(), first!));
    expect(await fingerprint()).not.toEqual(seeded);

    const keySealed = new SecretBox(SECRETS_KEY).seal(JSON.stringify({ passphrase: 'not needed for a plain .sar' }));
    const restore = await fixture.repo.request({ source: { uploadId: await upload(fixture.sarPath) }, sections: ['cdr', 'voicemail'], mode: 'replace', preview: false, allowOtherPbx: false, keySealed });
    const done = await finalOf(restore.id);
    expect(done).toMatchObject({ status: 'succeeded', error: null, keySealed: null });
    expect(done.sections).toEqual([expect.objectContaining({ name: 'cdrAndVoicemails', status: 'restored' })]);
    expect(done.safetyBackup).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await fingerprint()).toEqual(seeded);
    const events = await bed.db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1 ORDER BY created_at`, [restore.id]);
    expect(events.map((e: { type: string }) => e.type)).toEqual(['restore.requested', 'restore.succeeded']);
  });

  it('refuses a damaged upload naming the entry, and changes nothing', async () => {
    const damaged = join(bed.dir, 'damaged.sar');
    await copyFile(fixture.sarPath, damaged);
    const { size } = await stat(damaged);
    const fh = await open(damaged, 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, Math.floor(size / 2));
    await fh.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, Math.floor(size / 2));
    await fh.close();
    const before = await fingerprint();
    const restore = await fixture.repo.request({ source: { uploadId: await upload(damaged) }, sections: [], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const done = await finalOf(restore.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/entry \S+\//);
    expect(done.safetyBackup).toBeNull();
    expect(done.safetyRunId).toBeNull();
    expect(await fingerprint()).toEqual(before);
  });

  it('restores a copy the dispatcher fetched from a destination, and removes the fetched copy', async () => {
    const seeded = await fingerprint();
    await fixture.pg.query(`DELETE FROM "${bed.pbx.schema}".cdr WHERE id IN (SELECT id FROM "${bed.pbx.schema}".cdr ORDER BY id DESC LIMIT 10)`);
    const restore = await bed.db.dataSource.manager.save(
      bed.db.dataSource.manager.create(RestoreEntity, { source: { destinationId: crypto.randomUUID(), file: 'seeded.sar' }, requestedSections: ['cdrAndVoicemails'] /* a row from before the archive's section names */, mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null, status: 'queued', phase: 'fetched' }),
    );
    const fetched = join(artifacts(), fetchedArchiveOf(restore.id));
    await mkdir(join(artifacts(), 'restores'), { recursive: true });
    await copyFile(fixture.sarPath, fetched);
    await bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'restore.requested', { restoreId: restore.id }, { correlationId: restore.id }));
    expect((await finalOf(restore.id)).status).toBe('succeeded');
    expect(await fingerprint()).toEqual(seeded);
    await expect(stat(fetched)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps the safety backup as a succeeded run of kind safety (in the artifact store, linked both ways, never delivered); restoring that run undoes the restore', async () => {
    // The state a restore will overwrite: some CDRs gone, one recording gone (the last test: it leaves the PBX so).
    await fixture.pg.query(`DELETE FROM "${bed.pbx.schema}".cdr WHERE id IN (SELECT id FROM "${bed.pbx.schema}".cdr ORDER BY id LIMIT 7)`);
    const [second] = Object.keys((await fingerprint()).audio).slice(1);
    await rm(join(pbxData(), second!));
    const before = await fingerprint();

    const restore = await fixture.repo.request({ source: { uploadId: await upload(fixture.sarPath) }, sections: ['cdr', 'voicemail'], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const done = await finalOf(restore.id);
    expect(done.status).toBe('succeeded');
    expect(await fingerprint()).not.toEqual(before);

    const run = await bed.db.dataSource.manager.findOneByOrFail(RunEntity, { id: done.safetyRunId! });
    expect(run).toMatchObject({
      kind: 'safety', status: 'succeeded', configurationId: null, restoreId: restore.id, trigger: 'manual',
      artifactSize: done.safetyBackup!.size, artifactSha256: done.safetyBackup!.sha256, artifactRemovedAt: null,
      artifactFileName: expect.stringMatching(new RegExp(`^Safety before restore ${restore.id.slice(0, 8)}_\\d{8}-\\d{6}_${run.id.slice(0, 8)}\\.sar$`)),
    });
    expect(run.finishedAt).toBeInstanceOf(Date);
    expect(run.snapshot).toMatchObject({ destinations: [], data: { coreData: false, cdrAndVoicemails: true, announcements: false } });
    // In the artifact store under the run's key (fs: ARTIFACT_DIR/<run id>.sar), whole; nothing left beside it.
    const stored = join(artifacts(), `${run.id}.sar`);
    expect(done.safetyBackup!.path).toBe(`${run.id}.sar`);
    expect(createHash('sha256').update(await readFile(stored)).digest('hex')).toBe(run.artifactSha256);
    await expect(stat(join(artifacts(), `safety-${restore.id}.sar`))).rejects.toMatchObject({ code: 'ENOENT' });
    // Nothing to deliver or report: no event, no delivery.
    expect(await bed.db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1`, [run.id])).toEqual([]);
    expect(await bed.db.dataSource.manager.countBy(DeliveryEntity, { runId: run.id })).toBe(0);

    // Undo: restore the safety run (every section it holds, replace).
    const undo = await fixture.repo.request({ source: { runId: run.id }, sections: [], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const undone = await finalOf(undo.id);
    expect(undone).toMatchObject({ status: 'succeeded', error: null });
    expect(await fingerprint()).toEqual(before);
    // The undo took its own safety backup: the restore can be redone from it.
    expect(undone.safetyRunId).toEqual(expect.any(String));
    expect(undone.safetyRunId).not.toBe(run.id);
    expect(await bed.db.dataSource.manager.findOneByOrFail(RunEntity, { id: undone.safetyRunId! })).toMatchObject({ kind: 'safety', restoreId: undo.id });
  });
});

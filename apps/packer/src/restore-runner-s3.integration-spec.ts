import { copyFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { S3ArtifactStore } from '@pbx/artifacts/s3';
import { uploadedArchiveOf } from '@pbx/destinations';
import { createLogger } from '@pbx/observability';
import { RunEntity } from '@pbx/persistence';
import { peers, uniqueName } from '@pbx/testing';
import { packerTestBed, restoreFixture } from './packer.test-helper';

const PBX_ID = 'pbx-restore-s3-test';
const logger = createLogger({ service: 'restore-runner-s3-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** ARTIFACT_STORE=s3: an upload is read from the bucket, a restore's safety backup goes into it as its safety run's object, and the undo reads it from there. */
describe('packer: safety runs with ARTIFACT_STORE=s3 (s3rver; real Postgres, RabbitMQ, Redis)', () => {
  const prefix = `${uniqueName('rst')}/`;
  const store = new S3ArtifactStore({ ...peers.s3, forcePathStyle: true, prefix });
  const bed = packerTestBed('pkrs3', {
    logger,
    scope: 'suite',
    pbx: { prefix: 'pbxrs3', seed: { users: 5, cdr: 120, voicemails: 3, announcements: 1, minAudioBytes: 10_000, maxAudioBytes: 20_000 } },
    env: {
      PBX_ID, MAINTENANCE_RECHECK_MS: 100,
      ARTIFACT_STORE: 's3', S3_ENDPOINT: peers.s3.endpoint, S3_BUCKET: peers.s3.bucket, S3_PREFIX: prefix,
      S3_ACCESS_KEY_ID: peers.s3.accessKeyId, S3_SECRET_ACCESS_KEY: peers.s3.secretAccessKey, S3_FORCE_PATH_STYLE: true,
    },
  });
  const fixture = restoreFixture(bed, PBX_ID);
  const { fingerprint, finalOf } = fixture;
  const pbxData = () => bed.pbx.dataDir;
  const artifacts = () => bed.artifactDir;

  it('the safety run\'s archive is an object in the bucket (nothing left on the packer\'s disk), and restoring that run undoes the restore', async () => {
    await fixture.pg.query(`DELETE FROM "${bed.pbx.schema}".cdr WHERE id IN (SELECT id FROM "${bed.pbx.schema}".cdr ORDER BY id LIMIT 9)`);
    const [first] = Object.keys((await fingerprint()).audio);
    await rm(join(pbxData(), first!));
    const before = await fingerprint();

    // The api puts a finished upload into the bucket; the packer reads it from there.
    const uploadId = crypto.randomUUID();
    const copy = join(bed.dir, `${uploadId}.sar`);
    await copyFile(fixture.sarPath, copy);
    await store.put(uploadedArchiveOf(uploadId, false), copy);
    const restore = await fixture.repo.request({ source: { uploadId }, sections: ['cdr', 'voicemail'], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const done = await finalOf(restore.id);
    expect(done.status).toBe('succeeded');
    expect(await fingerprint()).not.toEqual(before);

    const run = await bed.db.dataSource.manager.findOneByOrFail(RunEntity, { id: done.safetyRunId! });
    expect(run).toMatchObject({ kind: 'safety', status: 'succeeded', restoreId: restore.id, configurationId: null });
    expect(await store.stat(`${run.id}.sar`)).toEqual(expect.objectContaining({ size: run.artifactSize }));
    const local = (await readdir(artifacts())).filter((n) => n !== 'restores');
    expect(local).toEqual([]);

    const undo = await fixture.repo.request({ source: { runId: run.id }, sections: [], mode: 'replace', preview: false, allowOtherPbx: false, keySealed: null });
    const undone = await finalOf(undo.id);
    expect(undone.status).toBe('succeeded');
    expect(await fingerprint()).toEqual(before);
    // The bucket is shared: this suite's objects go.
    for (const id of [run.id, undone.safetyRunId]) if (id) await store.remove(`${id}.sar`);
    await store.remove(uploadedArchiveOf(uploadId, false));
  });
});

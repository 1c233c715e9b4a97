/**
 * ARTIFACT_STORE=s3 through the five built apps (issue #21): packer, dispatcher and api each
 * get their OWN ARTIFACT_DIR (no shared folder); the archive travels through the S3 test peer
 * (s3rver). A run is delivered to local + SFTP, downloaded whole and by range through the api,
 * cleaned out of the bucket after the download window, and nothing is left on any host's disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { seedPbx } from '@pbx/pbx-source';
import { expectEventually, peers, peerSftpDestination, testUrls, uniqueName } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

interface Run { id: string; status: string; artifact: { fileName: string; size: number; sha256: string } | null; deliveries: { type: string; status: string; location: string | null }[] }

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every regular file below `dir` (relative paths); none when it does not exist. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

describe('ARTIFACT_STORE=s3: five processes, no shared artifact folder', () => {
  let e: E2eEnv;
  const prefix = `${uniqueName('e2e')}/`;
  const bucketDir = join(peers.s3.dataDir, peers.s3.bucket);
  const objectsOf = () => filesBelow(join(bucketDir, prefix)).filter((f) => f.endsWith('._S3rver_object'));

  beforeAll(async () => {
    e = await createE2eEnv('s3art', {
      ARTIFACT_STORE: 's3',
      S3_ENDPOINT: peers.s3.endpoint,
      S3_BUCKET: peers.s3.bucket,
      S3_PREFIX: prefix,
      S3_ACCESS_KEY_ID: peers.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: peers.s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      // Long enough to download below, short enough to see the cleanup.
      DOWNLOAD_WINDOW_MS: '20000',
    });
    // Each host its own scratch folder: what one writes there, no other can read.
    for (const app of ['api', 'scheduler', 'packer', 'dispatcher', 'notifier'] as const) e.stack.setAppEnv(app, { ARTIFACT_DIR: join(e.dir, `host-${app}`) });
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 10, cdr: 2000, voicemails: 5, announcements: 2, minAudioBytes: 200_000, maxAudioBytes: 400_000 });
    await e.start();
  }, 120_000);
  afterAll(async () => e?.teardown());

  it('packs into the bucket, delivers from it (local + SFTP), downloads with ranges from it, cleans it up; no host keeps a file', async () => {
    const name = `S3 artifacts ${randomBytes(3).toString('hex')}`;
    const sftpSub = `s3art-${randomBytes(4).toString('hex')}`;
    const res = await e.api.request<{ run: Run }>('POST', '/api/v1/backup-configurations', {
      name,
      reportTo: 's3-e2e@example.com',
      interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: true },
      destinations: [{ type: 'local' }, peerSftpDestination(sftpSub)],
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    const run = await expectEventually(
      async () => {
        const { body } = await e.api.request<Run>('GET', `/api/v1/runs/${res.body.run.id}`);
        return ['succeeded', 'partially_failed', 'failed'].includes(body.status) ? body : null;
      },
      { timeoutMs: 120_000, intervalMs: 250, message: 'run did not finish' },
    );
    expect(run.deliveries.map((d) => [d.type, d.status])).toEqual(expect.arrayContaining([['local', 'succeeded'], ['sftp', 'succeeded']]));
    expect(run.status).toBe('succeeded');
    const { fileName, size, sha256: expected } = run.artifact!;
    expect(size).toBeGreaterThan(1024 * 1024);

    // In the bucket under S3_PREFIX, and on no host's disk.
    expect(objectsOf().map((f) => basename(f))).toEqual([`${run.id}.sar._S3rver_object`]);
    for (const host of ['packer', 'dispatcher', 'api']) expect({ host, files: filesBelow(join(e.dir, `host-${host}`)) }).toEqual({ host, files: [] });

    // Both copies are the packed archive.
    expect(sha256(readFileSync(join(e.env.LOCAL_BACKUP_ROOT, 'starface-backup', name, fileName)))).toBe(expected);
    expect(sha256(readFileSync(join(peers.sftp.homeDir, sftpSub, 'starface-backup', name, fileName)))).toBe(expected);

    // Download: whole, and a range, streamed out of the bucket.
    const url = `${e.stack.apiUrl}/api/v1/runs/${run.id}/download`;
    const auth = { authorization: `Bearer ${e.admin}` };
    const whole = Buffer.from(await (await fetch(url, { headers: auth })).arrayBuffer());
    expect(sha256(whole)).toBe(expected);
    const part = await fetch(url, { headers: { ...auth, range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${size}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(1000, 2000))).toBe(true);

    // After the download window the dispatcher deletes the object; the download says 410.
    await expectEventually(async () => objectsOf().length === 0 || null, { timeoutMs: 60_000, intervalMs: 500, message: 'the artifact stayed in the bucket' });
    expect((await fetch(url, { headers: auth })).status).toBe(410);
  }, 240_000);
});

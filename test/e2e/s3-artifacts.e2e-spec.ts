/**
 * ARTIFACT_STORE=s3 through the five built apps (issue #21): packer, dispatcher and api each
 * get their OWN ARTIFACT_DIR (no shared folder); the archive travels through the S3 test peer
 * (s3rver). A run is delivered to local + SFTP, downloaded whole and by range through the api,
 * cleaned out of the bucket after the download window, and nothing is left on any host's disk.
 * The downloaded archive is then uploaded again with curl in ranged PUTs and restored from: the
 * upload reaches the packer through the bucket, and the PBX equals the seeded one.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { seedPbx, walkFiles } from '@pbx/pbx-source';
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
  let pg: Client;
  let seeded: Awaited<ReturnType<typeof fingerprint>>;
  /** The archive downloaded in the first test, uploaded for a restore in the second. */
  let downloaded: { runId: string; bytes: Buffer } | undefined;
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
    pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    seeded = await fingerprint();
    await e.start();
  }, 120_000);
  afterAll(async () => {
    await pg?.end();
    await e?.teardown();
  });

  /** Every table row by row in key order, every audio file's sha256 (as restore.e2e-spec compares). */
  async function fingerprint() {
    const table = async (name: string) => (await pg.query<{ r: string }>(`SELECT x::text AS r FROM "${e.pbxSchema}".${name} x ORDER BY id`)).rows.map((r) => r.r);
    const audio: Record<string, string> = {};
    for (const folder of ['voicemail', 'announcements'] as const) {
      for await (const f of walkFiles(e.env.PBX_DATA_DIR, folder)) audio[f.relativePath] = sha256(await readFile(f.absolutePath));
    }
    return { users: await table('users'), cdr: await table('cdr'), audio };
  }

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
    downloaded = { runId: run.id, bytes: whole };
    const part = await fetch(url, { headers: { ...auth, range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${size}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(1000, 2000))).toBe(true);

    // After the download window the dispatcher deletes the object; the download says 410.
    await expectEventually(async () => objectsOf().length === 0 || null, { timeoutMs: 60_000, intervalMs: 500, message: 'the artifact stayed in the bucket' });
    expect((await fetch(url, { headers: auth })).status).toBe(410);
  }, 240_000);

  it('restores from an upload of the downloaded archive sent with curl in ranged PUTs: the upload goes through the bucket, the PBX equals the seeded one', async () => {
    expect(downloaded).toBeDefined();
    const { bytes } = downloaded!;
    // Changed and deleted rows, a deleted recording.
    await pg.query(`DELETE FROM "${e.pbxSchema}".cdr WHERE id IN (SELECT id FROM "${e.pbxSchema}".cdr ORDER BY id LIMIT 40)`);
    await pg.query(`UPDATE "${e.pbxSchema}".users SET first_name = 'changed' WHERE id IN (SELECT id FROM "${e.pbxSchema}".users ORDER BY id LIMIT 2)`);
    await rm(join(e.env.PBX_DATA_DIR, Object.keys(seeded.audio).find((p) => p.startsWith('voicemail'))!));
    expect(await fingerprint()).not.toEqual(seeded);

    const created = await e.api.request<{ uploadId: string; url: string }>('POST', '/api/v1/uploads', { size: bytes.length });
    expect(created.status).toBe(201);
    const { uploadId, url } = created.body;
    const auth = `Authorization: Bearer ${e.admin}`;
    // Three pieces, each after asking where to continue (Upload-Offset), as a resuming client does.
    const step = Math.ceil(bytes.length / 3);
    let last: { received: number; complete: boolean } | undefined;
    for (let at = 0; at < bytes.length; at += step) {
      const head = await fetch(`${e.stack.apiUrl}${url}`, { method: 'HEAD', headers: { authorization: `Bearer ${e.admin}` } });
      expect(Number(head.headers.get('upload-offset'))).toBe(at);
      const piece = bytes.subarray(at, at + step);
      const file = join(e.dir, `piece-${at}`);
      await writeFile(file, piece);
      const { stdout } = await promisify(execFile)('curl', ['-sS', '--fail-with-body', '-T', file, '-H', auth, '-H', `Content-Range: bytes ${at}-${at + piece.length - 1}/${bytes.length}`, `${e.stack.apiUrl}${url}`]);
      last = JSON.parse(stdout);
    }
    expect(last).toMatchObject({ received: bytes.length, complete: true });

    // The finished upload is an object in the bucket; the api's host keeps only its record.
    const uploadObject = objectsOf().find((f) => f.endsWith(`uploads/${uploadId}.sar._S3rver_object`));
    expect(uploadObject).toBeDefined();
    expect(sha256(readFileSync(uploadObject!))).toBe(sha256(bytes));
    expect(filesBelow(join(e.dir, 'host-api')).map((f) => basename(f))).toEqual([`${uploadId}.json`]);

    const started = await e.api.request<{ restore: { id: string } }>('POST', '/api/v1/restores', { source: { uploadId }, mode: 'replace' });
    expect(started.status).toBe(202);
    const done = await expectEventually(
      async () => {
        const { body } = await e.api.request<{ status: string; error: string | null }>('GET', `/api/v1/restores/${started.body.restore.id}`);
        return ['succeeded', 'failed', 'rolled_back'].includes(body.status) ? body : null;
      },
      { timeoutMs: 120_000, intervalMs: 250, message: 'restore did not finish' },
    );
    expect(done).toMatchObject({ status: 'succeeded', error: null });
    expect(await fingerprint()).toEqual(seeded);
    // The packer fetched the upload from the bucket into its own folder and removed it after.
    expect(filesBelow(join(e.dir, 'host-packer')).filter((f) => /\.(sar|age|fetched)$/.test(f))).toEqual([]);
  }, 240_000);
});

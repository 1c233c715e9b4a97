/**
 * The s3 destination kind through the five built apps (issue #21): a configuration delivering to
 * the S3 test peer (s3rver) — saved with its secret key sealed and never shown, tested through
 * the api, run: the object in the bucket is the packed archive (sha256), read back by the
 * dispatcher's verification (verify.afterUpload sha256), and listed by
 * GET …/destinations/:destId/backups, and fetched back for a restore (preview). The artifact store
 * stays `fs`: the destination alone is S3.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { seedPbx } from '@pbx/pbx-source';
import { expectEventually, peerS3Destination, peers, s3rverObjectPath, testUrls, uniqueName } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

interface Run {
  id: string;
  status: string;
  artifact: { fileName: string; size: number; sha256: string } | null;
  deliveries: { type: string; status: string; location: string | null; target: string | null; verification: { result: string } | null }[];
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('s3 destination: five processes deliver to S3 (s3rver)', () => {
  let e: E2eEnv;

  beforeAll(async () => {
    e = await createE2eEnv('s3dest', {});
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 10, cdr: 2000, voicemails: 5, announcements: 2, minAudioBytes: 200_000, maxAudioBytes: 400_000 });
    await e.start();
  }, 120_000);
  afterAll(async () => e?.teardown());

  it('saves (secret sealed, never shown), tests, delivers (sha256 equal, verified by read-back) and lists the stored copy', async () => {
    const prefix = `${uniqueName('e2e')}/pbx`;
    const destination = peerS3Destination(prefix);
    const name = `S3 destination ${randomBytes(3).toString('hex')}`;

    const tested = await e.api.request<{ ok: boolean; code?: string }>('POST', '/api/v1/destinations/test', { destination });
    expect(tested.body).toMatchObject({ ok: true });

    const res = await e.api.request<{ configuration: { id: string; destinations: Record<string, unknown>[] }; run: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name,
      reportTo: 's3-dest-e2e@example.com',
      interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: true },
      destinations: [destination],
      verify: { afterUpload: 'sha256' },
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    const shown = res.body.configuration.destinations[0]!;
    expect(shown).toMatchObject({ type: 's3', endpoint: peers.s3.endpoint, bucket: peers.s3.bucket, prefix, accessKeyId: peers.s3.accessKeyId, forcePathStyle: true });
    expect(JSON.stringify(res.body)).not.toContain(`"secretAccessKey":"${peers.s3.secretAccessKey}"`);

    const run = await expectEventually(
      async () => {
        const { body } = await e.api.request<Run>('GET', `/api/v1/runs/${res.body.run.id}`);
        return ['succeeded', 'partially_failed', 'failed'].includes(body.status) ? body : null;
      },
      { timeoutMs: 120_000, intervalMs: 250, message: 'run did not finish' },
    );
    expect(run.status).toBe('succeeded');
    const { fileName, size, sha256: expected } = run.artifact!;
    expect(size).toBeGreaterThan(1024 * 1024);
    expect(run.deliveries).toEqual([expect.objectContaining({ type: 's3', status: 'succeeded', location: `starface-backup/${name}/${fileName}`, target: `[S3]127.0.0.1/${peers.s3.bucket}/${prefix}` })]);

    // The object in the bucket is the packed archive.
    expect(sha256(readFileSync(s3rverObjectPath(`${prefix}/starface-backup/${name}/${fileName}`)))).toBe(expected);

    // verify.afterUpload: the dispatcher read the object back (GetObject) and compared sha256.
    const verified = await expectEventually(
      async () => {
        const { body } = await e.api.request<Run>('GET', `/api/v1/runs/${run.id}`);
        return body.deliveries[0]?.verification ?? null;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'the copy was not verified' },
    );
    expect(verified.result).toBe('verified');

    // The stored-copies listing, from the bucket itself (ListObjectsV2).
    const destinationId = String(shown.id);
    const listed = await e.api.request<{ items: { file: string; size: number; modifiedAt: string | null; writtenByThisService: boolean }[] }>(
      'GET',
      `/api/v1/backup-configurations/${res.body.configuration.id}/destinations/${destinationId}/backups`,
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([{ file: fileName, size, modifiedAt: expect.any(String), writtenByThisService: true }]);

    // A restore from the stored copy (preview: nothing changes): the dispatcher fetches it back
    // from the bucket (GetObject into the artifact store), the packer opens it.
    const started = await e.api.request<{ restore: { id: string } }>('POST', '/api/v1/restores', { source: { destinationId, file: fileName }, mode: 'replace', preview: true });
    expect(started.status).toBe(202);
    const restored = await expectEventually(
      async () => {
        const { body } = await e.api.request<{ status: string; error: string | null; previewResult?: unknown }>('GET', `/api/v1/restores/${started.body.restore.id}`);
        return ['succeeded', 'failed', 'rolled_back'].includes(body.status) ? body : null;
      },
      { timeoutMs: 120_000, intervalMs: 250, message: 'the preview restore did not finish' },
    );
    expect(restored).toMatchObject({ status: 'succeeded', error: null, previewResult: expect.anything() });
  }, 240_000);
});

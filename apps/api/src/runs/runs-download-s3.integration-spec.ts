import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { S3ArtifactStore } from '@pbx/artifacts/s3';
import { peers, uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';

const V1 = '/api/v1';

/** ARTIFACT_STORE=s3: the api streams a run's archive out of the bucket; its ARTIFACT_DIR holds nothing. */
describe('GET /runs/:id/download with ARTIFACT_STORE=s3 (s3rver)', () => {
  let testApi: TestApi;
  const prefix = `${uniqueName('api')}/`;
  const store = new S3ArtifactStore({ ...peers.s3, forcePathStyle: true, prefix });

  beforeAll(async () => {
    testApi = await startTestApi('apis3', {
      ARTIFACT_STORE: 's3',
      S3_ENDPOINT: peers.s3.endpoint,
      S3_BUCKET: peers.s3.bucket,
      S3_PREFIX: prefix,
      S3_ACCESS_KEY_ID: peers.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: peers.s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: true,
    });
  });
  afterAll(() => testApi?.close());

  const api = () => ({
    get: (url: string) => request(testApi.base).get(url).set('Authorization', `Bearer ${ADMIN_TOKEN}`),
    post: (url: string, body: object) => request(testApi.base).post(url).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body),
  });
  const bytes = (req: request.Test) =>
    req.buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });

  it('200 full and 206 range from the bucket, 416 beyond it, 410 once the object is gone; a restore from the run checks the bucket too', async () => {
    const { body: created } = await api().post(`${V1}/backup-configurations`, configurationBody(uniqueName('S3'), { data: { coreData: true, cdrAndVoicemails: false, announcements: false }, action: 'saveAndRun' }));
    const runId = created.run.id as string;
    const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    const local = join(testApi.dir, 'upload.sar');
    await writeFile(local, content);
    await store.put(`${runId}.sar`, local);
    await testApi.ds.query(`UPDATE runs SET status = 'dispatching', packed_at = now(), artifact_file_name = 'x_20261201-013000.sar', artifact_size = $2, artifact_sha256 = 'abc' WHERE id = $1`, [runId, content.length]);
    const url = `${V1}/runs/${runId}/download`;

    const full = await bytes(api().get(url));
    expect(full.status).toBe(200);
    expect(full.headers['content-length']).toBe(String(content.length));
    expect(Buffer.compare(full.body as Buffer, content)).toBe(0);

    const part = await bytes(api().get(url).set('Range', 'bytes=100000-100009'));
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100000-100009/${content.length}`);
    expect(Buffer.compare(part.body as Buffer, content.subarray(100000, 100010))).toBe(0);

    expect((await api().get(url).set('Range', 'bytes=999999-')).status).toBe(416);
    // Nothing of it on the api's own disk.
    await expect(readFile(join(testApi.env.ARTIFACT_DIR, `${runId}.sar`))).rejects.toMatchObject({ code: 'ENOENT' });

    await store.remove(`${runId}.sar`);
    expect((await api().get(url)).status).toBe(410);
    const restore = await api().post(`${V1}/restores`, { source: { runId } });
    expect(restore.status).toBe(410);
  });
});

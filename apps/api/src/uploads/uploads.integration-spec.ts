import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { expectEventually } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { FsArtifactStore } from '@pbx/artifacts';
import { UploadStore } from '@pbx/ops';

const V1 = '/api/v1';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('uploads (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('upl');
  });
  afterAll(() => api.close());

  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  // ARTIFACT_STORE=fs: the finished upload is the artifact `uploads/<id>.sar`, renamed from its part file (no copy).
  const uploaded = (id: string) => readFile(join(api.env.ARTIFACT_DIR, 'uploads', `${id}.sar`));

  it('takes a whole file with curl -T at the returned url', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(api.dir, 'whole.sar');
    await writeFile(file, content);
    const created = await auth(request(api.base).post(`${V1}/uploads`));
    expect(created.status).toBe(201);
    const { stdout } = await promisify(execFile)('curl', ['-sS', '--fail-with-body', '-T', file, '-H', `Authorization: Bearer ${ADMIN_TOKEN}`, `${api.base}${created.body.url}`]);
    expect(JSON.parse(stdout)).toMatchObject({ uploadId: created.body.uploadId, size: content.length, received: content.length, complete: true });
    expect(sha(await uploaded(created.body.uploadId))).toBe(sha(content));
    expect((await readdir(join(api.env.ARTIFACT_DIR, 'uploads'))).filter((n) => n.startsWith(created.body.uploadId)).sort()).toEqual([`${created.body.uploadId}.json`, `${created.body.uploadId}.sar`]);
    const audit = await api.ds.query(`SELECT action, outcome FROM audit_events WHERE target_id = $1 ORDER BY at`, [created.body.uploadId]);
    expect(audit).toEqual([{ action: 'upload.create', outcome: 'ok' }, { action: 'upload.write', outcome: 'ok' }]);
  });

  it('keeps what arrived before a broken connection and continues from Upload-Offset with Content-Range', async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const created = await auth(request(api.base).post(`${V1}/uploads`)).send({ size: content.length });
    const url = new URL(`${api.base}${created.body.url}`);
    // The connection breaks after the first megabyte of a PUT of the whole range.
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, { method: 'PUT', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Range': `bytes 0-${content.length - 1}/${content.length}`, 'Content-Length': content.length } });
      req.on('error', () => resolve());
      req.write(content.subarray(0, 1024 * 1024), () => setImmediate(() => (req.destroy(), resolve())));
    });
    const offset = await expectEventually(async () => {
      const head = await auth(request(api.base).head(created.body.url));
      const n = Number(head.headers['upload-offset']);
      return n > 0 ? n : null;
    });
    expect(offset).toBeLessThanOrEqual(1024 * 1024);

    const wrong = await auth(request(api.base).put(created.body.url)).set('Content-Range', `bytes 0-9/${content.length}`).set('Content-Type', 'application/octet-stream').send(content.subarray(0, 10));
    expect(wrong.status).toBe(409);

    const rest = await auth(request(api.base).put(created.body.url))
      .set('Content-Range', `bytes ${offset}-${content.length - 1}/${content.length}`)
      .set('Content-Type', 'application/octet-stream')
      .send(content.subarray(offset));
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ received: content.length, complete: true });
    expect(sha(await uploaded(created.body.uploadId))).toBe(sha(content));
  });

  it('a restore may name an upload this replica has no record of when its archive is in the artifact store (assembled by another api host); one whose archive is gone is 410', async () => {
    const elsewhere = randomUUID();
    await mkdir(join(api.env.ARTIFACT_DIR, 'uploads'), { recursive: true });
    await writeFile(join(api.env.ARTIFACT_DIR, 'uploads', `${elsewhere}.sar.age`), 'age-encryption.org/v1\n…');
    const restore = (uploadId: string) => auth(request(api.base).post(`${V1}/restores`)).send({ source: { uploadId }, passphrase: 'x' });
    expect((await restore(elsewhere)).status).toBe(202);

    const created = await auth(request(api.base).post(`${V1}/uploads`)).send({ size: 4 });
    await auth(request(api.base).put(created.body.url)).set('Content-Type', 'application/octet-stream').send(Buffer.from('abcd')).expect(200);
    await rm(join(api.env.ARTIFACT_DIR, 'uploads', `${created.body.uploadId}.sar`));
    expect((await restore(created.body.uploadId)).status).toBe(410);
  });

  it('removes uploads once they expire', async () => {
    const created = await auth(request(api.base).post(`${V1}/uploads`)).send({ size: 10 });
    expect((await auth(request(api.base).get(created.body.url))).status).toBe(200);
    const store = new UploadStore(join(api.env.ARTIFACT_DIR, 'uploads'), new FsArtifactStore(api.env.ARTIFACT_DIR));
    expect(await store.removeExpired(new Date(Date.parse(created.body.expiresAt) + 1))).toBeGreaterThanOrEqual(1);
    expect((await auth(request(api.base).get(created.body.url))).status).toBe(404);
  });
});

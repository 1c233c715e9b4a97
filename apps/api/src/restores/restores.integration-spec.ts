import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';

const V1 = '/api/v1';
const PASSPHRASE = 'restore passphrase 9c1e';

describe('restores API (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('rst');
  });
  afterAll(() => api.close());

  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const start = (body: unknown) => auth(request(api.base).post(`${V1}/restores`)).send(body as object);

  async function completeUpload(): Promise<string> {
    const created = await auth(request(api.base).post(`${V1}/uploads`)).send({ size: 4 });
    await auth(request(api.base).put(created.body.url)).set('Content-Type', 'application/octet-stream').send(Buffer.from('sar!'));
    return created.body.uploadId as string;
  }

  it('queues a restore of a finished upload (202, restore.requested), seals the passphrase away from responses, and lists and reads it', async () => {
    const uploadId = await completeUpload();
    const res = await start({ source: { uploadId }, sections: ['voicemail', 'core', 'cdr'], mode: 'merge', passphrase: PASSPHRASE });
    expect(res.status).toBe(202);
    const restore = res.body.restore;
    expect(restore).toMatchObject({ status: 'queued', source: { uploadId }, mode: 'merge', preview: false, allowOtherPbx: false, bytesDone: 0, sections: [], safetyBackup: null, error: null });
    expect(JSON.stringify(res.body)).not.toContain(PASSPHRASE);
    const [row] = await api.ds.query(`SELECT key_sealed, requested_sections FROM restores WHERE id = $1`, [restore.id]);
    expect(row.key_sealed).toEqual(expect.any(String));
    expect(row.key_sealed).not.toContain(PASSPHRASE);
    // The archive's sections, in archive order.
    expect(row.requested_sections).toEqual(['core', 'cdr', 'voicemail']);
    const events = await api.ds.query(`SELECT payload FROM outbox WHERE type = 'restore.requested' AND correlation_id = $1`, [restore.id]);
    expect(events.map((e: { payload: unknown }) => e.payload)).toEqual([{ restoreId: restore.id }]);

    expect((await auth(request(api.base).get(`${V1}/restores/${restore.id}`))).body).toEqual(restore);
    const page = await auth(request(api.base).get(`${V1}/restores?limit=1`));
    expect(page.body).toMatchObject({ items: [{ id: restore.id }], page: 1, limit: 1 });
    const audit = await api.ds.query(`SELECT outcome FROM audit_events WHERE action = 'restore.start' AND target_id = $1`, [restore.id]);
    expect(audit).toEqual([{ outcome: 'ok' }]);
  });

  it('takes the archive\'s section names (API.md) and, as before, the names of what is restored as a whole', async () => {
    const named = async (sections: string[]) => {
      const res = await start({ source: { uploadId: await completeUpload() }, sections });
      expect(res.status).toBe(202);
      const [row] = await api.ds.query(`SELECT requested_sections FROM restores WHERE id = $1`, [res.body.restore.id]);
      return row.requested_sections;
    };
    expect(await named(['announcements', 'voicemail', 'cdr', 'core'])).toEqual(['core', 'cdr', 'voicemail', 'announcements']);
    expect(await named(['cdrAndVoicemails', 'coreData'])).toEqual(['core', 'cdr', 'voicemail']);
  });

  it('refuses what cannot be restored: an unfinished upload (409), an unknown run (404), an unknown destination (404), bad options (400)', async () => {
    const unfinished = await auth(request(api.base).post(`${V1}/uploads`)).send({ size: 100 });
    expect((await start({ source: { uploadId: unfinished.body.uploadId } })).status).toBe(409);
    expect((await start({ source: { uploadId: randomUUID() } })).status).toBe(404);
    expect((await start({ source: { runId: randomUUID() } })).status).toBe(404);
    expect((await start({ source: { destinationId: randomUUID(), file: 'x.sar' } })).status).toBe(404);
    const uploadId = await completeUpload();
    const bad = await start({ source: { uploadId }, sections: ['voicemails'], mode: 'overwrite', passphrase: 'a', identity: 'AGE-SECRET-KEY-1ABC' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(expect.arrayContaining(['mode', 'sections[0]']));
    // CDRs and voicemails are one all-or-nothing part of the archive: named together or not at all.
    const half = await start({ source: { uploadId }, sections: ['core', 'cdr'] });
    expect(half.status).toBe(400);
    expect(half.body.errors).toEqual([expect.objectContaining({ field: 'sections', message: expect.stringMatching(/cdr and voicemail are restored together/) })]);
    expect((await auth(request(api.base).get(`${V1}/restores/${randomUUID()}`))).status).toBe(404);
  });
});

import request from 'supertest';
import { RestoresRepository } from '@pbx/persistence';
import { ApiTokensRepository, ApiTokensService } from '@pbx/ops';
import { expectEventually, uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { SseClient } from '../live/sse-client.test-helper';
import { RestoreEventsHub } from './restore-events.service';

const V1 = '/api/v1';

describe('GET /restores/:id/events: live restore state (real Postgres NOTIFY, in-process api)', () => {
  let api: TestApi;
  let repo: RestoresRepository;
  beforeAll(async () => {
    api = await startTestApi('rst_events');
    // The packer's writes, through the table's one writer (the outbox is not under test here).
    repo = new RestoresRepository(api.ds, { enqueue: async () => 'unused' });
  });
  afterAll(() => api?.close());

  const open = (id: string, token = ADMIN_TOKEN) => SseClient.open(`${api.base}${V1}/restores/${id}/events`, token);
  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  async function newRestore(): Promise<string> {
    const created = await auth(request(api.base).post(`${V1}/uploads`)).send({ size: 4 });
    await auth(request(api.base).put(created.body.url)).set('Content-Type', 'application/octet-stream').send(Buffer.from('sar!'));
    const res = await auth(request(api.base).post(`${V1}/restores`)).send({ source: { uploadId: created.body.uploadId }, mode: 'merge' });
    expect(res.status).toBe(202);
    return res.body.restore.id as string;
  }

  it('404 for an unknown restore, 403 for a role without restores.read, before any stream opens', async () => {
    const id = await newRestore();
    expect((await open('6a1d7f4e-2b7c-4d55-9c3e-8f0b1a2c3d4e')).res.status).toBe(404);
    const viewer = await new ApiTokensService(new ApiTokensRepository(api.ds), 'unused-admin-token-here').create(uniqueName('viewer'), 'viewer');
    const refused = await open(id, viewer.token);
    expect(refused.res.status).toBe(403);
    expect(refused.res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('snapshot first, then each write of RestoresRepository in order, and the end after the final status', async () => {
    const id = await newRestore();
    const { client, res } = await open(id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await expectEventually(() => expect(client.events.map((e) => [e.event, e.data])).toEqual([
      ['status', { status: 'queued', error: null, final: false }],
      ['progress', { phase: null, bytesDone: 0, bytesTotal: null, percent: null }],
    ]));
    expect(client.ended).toBe(false);

    const step = async (write: () => Promise<unknown>, expected: Array<[string, Record<string, unknown>]>) => {
      const from = client.events.length;
      await write();
      await expectEventually(() => expect(client.events.slice(from).map((e) => [e.event, e.data])).toEqual(expected.map(([e, d]) => [e, expect.objectContaining(d)])));
    };
    const section = (status: string, rowsInserted: number) => ({ name: 'coreData' as const, status, counts: { rowsInserted, rowsDeleted: 0, filesWritten: 0 } });

    await step(() => repo.claim(id), [['status', { status: 'waiting', final: false }]]);
    await step(() => repo.progress(id, { status: 'verifying', phase: 'verifying', bytesDone: 250, bytesTotal: 1000, sections: [] }), [
      ['status', { status: 'verifying' }],
      ['progress', { phase: 'verifying', bytesDone: 250, bytesTotal: 1000, percent: 25 }],
    ]);
    await step(() => repo.progress(id, { status: 'restoring', phase: 'restoring', bytesDone: 600, bytesTotal: 1000, sections: [section('running', 10)] }), [
      ['status', { status: 'restoring' }],
      ['progress', { phase: 'restoring', percent: 60 }],
      ['section', section('running', 10)],
    ]);
    // Only what changed goes out.
    await step(() => repo.progress(id, { status: 'restoring', phase: 'restoring', bytesDone: 900, bytesTotal: 1000, sections: [section('running', 10)] }), [
      ['progress', { bytesDone: 900, percent: 90 }],
    ]);
    expect(client.ended).toBe(false);
    await step(() => repo.finish(id, { status: 'succeeded', sections: [section('done', 42)], safetyBackup: null }), [
      ['progress', { phase: 'done', percent: 100 }],
      ['section', section('done', 42)],
      ['status', { status: 'succeeded', error: null, final: true }],
    ]);
    await expectEventually(() => client.ended);
    expect(client.events.map((e) => Number(e.id))).toEqual(client.events.map((_, i) => i + 1));
    await expectEventually(() => api.app.get(RestoreEventsHub).watcherCount === 0);
  });

  it('a stream opened on a final restore sends its final state and ends', async () => {
    const id = await newRestore();
    await repo.finish(id, { status: 'failed', sections: null, error: 'the archive is damaged' });
    const { client } = await open(id);
    await expectEventually(() => client.ended);
    expect(client.events.map((e) => e.event)).toEqual(['progress', 'status']);
    expect(client.events[1].data).toEqual({ status: 'failed', error: 'the archive is damaged', final: true });
  });
});

import request from 'supertest';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';

const V1 = '/api/v1';

/** The list and read answers carry each configuration's newest run: the admin list needs no request per row. */
describe('configurations: lastRun (real Postgres + RabbitMQ)', () => {
  let api: TestApi;
  const get = (p: string) => request(api.base).get(p).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const post = (p: string, body?: object) => request(api.base).post(p).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body);

  beforeAll(async () => {
    api = await startTestApi('lastrun');
  }, 60_000);
  afterAll(async () => api?.close());

  it('is null before the first run, then the newest run (list and read)', async () => {
    const never = (await post(`${V1}/backup-configurations`, configurationBody(uniqueName('never')))).body.configuration;
    const ran = (await post(`${V1}/backup-configurations`, configurationBody(uniqueName('ran')))).body.configuration;
    const first = (await post(`${V1}/backup-configurations/${ran.id}/runs`)).body.run;
    const second = (await post(`${V1}/backup-configurations/${ran.id}/runs`)).body.run;
    expect(first.id).not.toBe(second.id);

    const list = (await get(`${V1}/backup-configurations?limit=100`)).body.items as Array<{ id: string; lastRun: unknown }>;
    expect(list.find((c) => c.id === never.id)?.lastRun).toBeNull();
    expect(list.find((c) => c.id === ran.id)?.lastRun).toEqual({ id: second.id, status: 'queued', finishedAt: null, createdAt: expect.any(String) });
    expect((await get(`${V1}/backup-configurations/${ran.id}`)).body.lastRun).toMatchObject({ id: second.id, status: 'queued' });
    expect((await get(`${V1}/backup-configurations/${never.id}`)).body.lastRun).toBeNull();
  }, 30_000);
});

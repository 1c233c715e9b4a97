import request from 'supertest';
import { startDropboxFake, uniqueName, type DropboxFake } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';

const V1 = '/api/v1';

/** Connecting Dropbox through the api: the authorize URL, and a server without a Dropbox app. */
describe('api: Dropbox authorize URL and an app that is not set up (real Postgres + RabbitMQ, Dropbox fake)', () => {
  let fake: DropboxFake;
  const apis: TestApi[] = [];

  /** An api of its own for each Dropbox setup (each on a fresh database). */
  async function startApi(overrides: Record<string, string>): Promise<string> {
    const api = await startTestApi('dropbox_api', { DROPBOX_API_BASE: fake.url, ...overrides });
    apis.push(api);
    return api.base;
  }

  const configBody = (code: string) => configurationBody(uniqueName('Dropbox'), { destinations: [{ type: 'dropbox', authorizationCode: code }] });

  beforeAll(async () => {
    fake = await startDropboxFake();
  });

  afterAll(async () => {
    for (const api of apis) await api.close();
    await fake?.close();
  });

  it('GET /dropbox/authorize-url answers the code flow URL with token_access_type=offline for DROPBOX_APP_KEY', async () => {
    const base = await startApi({ DROPBOX_APP_KEY: fake.appKey, DROPBOX_APP_SECRET: fake.appSecret });
    const res = await request(base).get(`${V1}/dropbox/authorize-url`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(res.status).toBe(200);
    const url = new URL(res.body.url as string);
    expect(url.pathname).toBe('/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: fake.appKey, token_access_type: 'offline' });
  });

  it('without DROPBOX_APP_SECRET the URL and a code exchange answer 503 naming the setting, not "not accepted by Dropbox"', async () => {
    const base = await startApi({ DROPBOX_APP_KEY: fake.appKey });
    const url = await request(base).get(`${V1}/dropbox/authorize-url`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(url.status).toBe(503);
    expect(url.body).toMatchObject({ status: 503, detail: expect.stringContaining('DROPBOX_APP_SECRET is not set') });

    const exchanges = fake.stats.codeExchanges;
    const code = fake.issueAuthorizationCode();
    const save = await request(base).post(`${V1}/backup-configurations`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(configBody(code));
    expect(save.status).toBe(503);
    expect(save.body.detail).toMatch(/Dropbox is not set up on this server: DROPBOX_APP_SECRET is not set/);
    expect(JSON.stringify(save.body)).not.toMatch(/not accepted by Dropbox/);
    expect(fake.stats.codeExchanges).toBe(exchanges);
  });
});

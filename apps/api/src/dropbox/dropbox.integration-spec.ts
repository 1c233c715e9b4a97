import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createLogger } from '@pbx/observability';
import { amqpNamespace, deleteAmqpNamespace, migratedDatabase, startDropboxFake, tempDir, testEnv, uniqueName, type DropboxFake } from '@pbx/testing';
import { createApiApp } from '../api-app';

const ADMIN = `admin-${randomUUID()}`;
const V1 = '/api/v1';

/** Connecting Dropbox through the api: the authorize URL, and a server without a Dropbox app. */
describe('api: Dropbox authorize URL and an app that is not set up (real Postgres + RabbitMQ, Dropbox fake)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let dirs: { path: string; remove: () => Promise<void> };
  let fake: DropboxFake;
  const namespaces: string[] = [];
  const apps: INestApplication[] = [];

  async function startApi(overrides: Record<string, string>): Promise<string> {
    const ns = amqpNamespace();
    namespaces.push(ns);
    const env = testEnv({
      DATABASE_SCHEMA: db.schema,
      AMQP_NAMESPACE: ns,
      ADMIN_API_TOKEN: ADMIN,
      SECRETS_KEY: 'c3'.repeat(32),
      ARTIFACT_DIR: join(dirs.path, 'artifacts'),
      LOCAL_BACKUP_ROOT: join(dirs.path, 'backups'),
      DEFAULT_TIMEZONE: 'Europe/Berlin',
      DROPBOX_API_BASE: fake.url,
      ...overrides,
    });
    const app = await createApiApp(env, createLogger({ service: 'api', level: 'silent' }));
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }

  const configBody = (code: string) => ({
    name: uniqueName('Dropbox'),
    reportTo: 'ops@example.com',
    interval: 'daily',
    startAt: '2026-12-01T02:30:00',
    timezone: 'Europe/Berlin',
    data: { coreData: true, cdrAndVoicemails: false, announcements: false },
    destinations: [{ type: 'dropbox', authorizationCode: code }],
    action: 'save',
  });

  beforeAll(async () => {
    db = await migratedDatabase('dropbox_api');
    dirs = await tempDir('pbx-dropbox-api-');
    await mkdir(join(dirs.path, 'artifacts'), { recursive: true });
    await mkdir(join(dirs.path, 'backups'), { recursive: true });
    fake = await startDropboxFake();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const ns of namespaces) await deleteAmqpNamespace(ns);
    await fake?.close();
    await db?.close();
    await dirs?.remove();
  });

  it('GET /dropbox/authorize-url answers the code flow URL with token_access_type=offline for DROPBOX_APP_KEY', async () => {
    const base = await startApi({ DROPBOX_APP_KEY: fake.appKey, DROPBOX_APP_SECRET: fake.appSecret });
    const res = await request(base).get(`${V1}/dropbox/authorize-url`).set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(200);
    const url = new URL(res.body.url as string);
    expect(url.pathname).toBe('/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: fake.appKey, token_access_type: 'offline' });
  });

  it('without DROPBOX_APP_SECRET the URL and a code exchange answer 503 naming the setting, not "not accepted by Dropbox"', async () => {
    const base = await startApi({ DROPBOX_APP_KEY: fake.appKey });
    const url = await request(base).get(`${V1}/dropbox/authorize-url`).set('Authorization', `Bearer ${ADMIN}`);
    expect(url.status).toBe(503);
    expect(url.body).toMatchObject({ status: 503, detail: expect.stringContaining('DROPBOX_APP_SECRET is not set') });

    const exchanges = fake.stats.codeExchanges;
    const code = fake.issueAuthorizationCode();
    const save = await request(base).post(`${V1}/backup-configurations`).set('Authorization', `Bearer ${ADMIN}`).send(configBody(code));
    expect(save.status).toBe(503);
    expect(save.body.detail).toMatch(/Dropbox is not set up on this server: DROPBOX_APP_SECRET is not set/);
    expect(JSON.stringify(save.body)).not.toMatch(/not accepted by Dropbox/);
    expect(fake.stats.codeExchanges).toBe(exchanges);
  });
});

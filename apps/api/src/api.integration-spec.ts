import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { connect } from 'amqplib';
import type { AppEnv } from '@pbx/config';
import { createLogger } from '@pbx/observability';
import { SecretBox } from '@pbx/secrets';
import { expectEventually, startDropboxFake, testUrls, uniqueName, type DropboxFake } from '@pbx/testing';
import { ApiTokensRepository, ApiTokensService } from '@pbx/ops';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './api.test-helper';
import { configurationBody } from './fixtures.test-helper';

/** Its own, so the secrets check can open what the api sealed. */
const SECRETS_KEY = 'a1'.repeat(32);
const V1 = '/api/v1';
/** SFTP destinations are saved only with a pinned host key (nothing listens on port 1 anyway). */
const PINNED = `SHA256:${'A'.repeat(43)}`;

describe('api (real Postgres + RabbitMQ, in-process)', () => {
  let testApi: TestApi;
  let ds: DataSource;
  let env: AppEnv;
  let base: string;
  let dropbox: DropboxFake;
  const logLines: string[] = [];
  const responses: string[] = [];

  /** Every response body is kept, so the secret check can search them all. */
  const api = () => {
    const agent = request(base);
    const wrap = (t: request.Test) => t.on('response', (res: { text?: string }) => void responses.push(res.text ?? ''));
    const auth = (t: request.Test) => wrap(t.set('Authorization', `Bearer ${ADMIN_TOKEN}`));
    return {
      get: (p: string) => auth(agent.get(p)),
      post: (p: string, body?: unknown) => auth(agent.post(p).send(body as object)),
      patch: (p: string, body?: unknown) => auth(agent.patch(p).send(body as object)),
      delete: (p: string) => auth(agent.delete(p)),
      raw: agent,
    };
  };

  const counts = async () => {
    const [row] = await ds.query(
      `SELECT (SELECT count(*) FROM configurations)::int AS c, (SELECT count(*) FROM destinations)::int AS d,
              (SELECT count(*) FROM runs)::int AS r, (SELECT count(*) FROM outbox)::int AS o`,
    );
    return row as { c: number; d: number; r: number; o: number };
  };

  const body = (over: Record<string, unknown> = {}) =>
    configurationBody(uniqueName('Nightly'), { data: { coreData: true, cdrAndVoicemails: true, announcements: false }, ...over });

  beforeAll(async () => {
    dropbox = await startDropboxFake();
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString('utf8'));
        cb();
      },
    });
    // This suite sends ~100 refused requests from one address on purpose (the harness lifts the limit; access.integration-spec tests it).
    testApi = await startTestApi(
      'api',
      { SECRETS_KEY, DROPBOX_APP_KEY: dropbox.appKey, DROPBOX_APP_SECRET: dropbox.appSecret, DROPBOX_API_BASE: dropbox.url, LOG_LEVEL: 'debug' },
      { logger: createLogger({ service: 'api', level: 'debug', destination: sink }) },
    );
    ({ ds, env, base } = testApi);
  });

  afterAll(async () => {
    await testApi?.close();
    await dropbox?.close();
  });

  // ------------------------------------------------------------------------------------------
  describe('create / read / list', () => {
    it('creates (201 { configuration }) with destination ids, defaults and nextRunAt, and reads it back', async () => {
      const res = await api().post(`${V1}/backup-configurations`, body({ timezone: undefined }));
      expect(res.status).toBe(201);
      const c = res.body.configuration;
      expect(c.id).toEqual(expect.any(String));
      expect(c.timezone).toBe('Europe/Berlin');
      expect(c.language).toBe('en');
      expect(c.notifyOnSuccess).toBe(false);
      expect(c.destinations).toEqual([{ id: expect.any(String), type: 'local' }]);
      expect(new Date(c.nextRunAt).getTime()).toBeGreaterThan(Date.now());
      const read = await api().get(`${V1}/backup-configurations/${c.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: c.id, name: c.name, nextRunAt: c.nextRunAt });
    });

    it('manual interval has no nextRunAt', async () => {
      const res = await api().post(`${V1}/backup-configurations`, body({ interval: 'manual', startAt: undefined }));
      expect(res.status).toBe(201);
      expect(res.body.configuration.nextRunAt).toBeNull();
    });

    it('lists paged { items, total }', async () => {
      for (let i = 0; i < 3; i++) expect((await api().post(`${V1}/backup-configurations`, body())).status).toBe(201);
      const all = await api().get(`${V1}/backup-configurations?limit=100`);
      expect(all.status).toBe(200);
      const page = await api().get(`${V1}/backup-configurations?page=2&limit=2`);
      expect(page.body.total).toBe(all.body.total);
      expect(page.body.items).toHaveLength(2);
      expect(page.body.items[0].id).toBe(all.body.items[2].id);
    });

    it('duplicate name (case-insensitive) → 409 problem, nothing stored', async () => {
      const b = body();
      expect((await api().post(`${V1}/backup-configurations`, b)).status).toBe(201);
      const before = await counts();
      const res = await api().post(`${V1}/backup-configurations`, { ...b, name: b.name.toUpperCase() });
      expect(res.status).toBe(409);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, title: expect.any(String), type: expect.any(String), detail: expect.any(String) });
      expect(await counts()).toEqual(before);
      // A backup and an archive configuration may share a name.
      const archive = await api().post(`${V1}/archive-configurations`, { ...archiveBody(), name: b.name });
      expect(archive.status).toBe(201);
    });

    it('unknown or malformed id → 404 problem', async () => {
      for (const path of [`${V1}/backup-configurations/${randomUUID()}`, `${V1}/backup-configurations/nope`, `${V1}/runs/${randomUUID()}`, `${V1}/dead-letters/${randomUUID()}`]) {
        const res = await api().get(path);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
      }
      expect((await api().patch(`${V1}/backup-configurations/${randomUUID()}`, { name: 'x' })).status).toBe(404);
      expect((await api().delete(`${V1}/backup-configurations/${randomUUID()}`)).status).toBe(404);
      expect((await api().post(`${V1}/backup-configurations/${randomUUID()}/runs`)).status).toBe(404);
    });

    it('malformed JSON → 400 problem; unknown route → 404 problem', async () => {
      const res = await api().raw.post(`${V1}/backup-configurations`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).set('Content-Type', 'application/json').send('{"name": ');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.errors).toEqual([{ field: 'body', message: 'must be valid JSON' }]);
      const missing = await api().get(`${V1}/nothing-here`);
      expect(missing.status).toBe(404);
      expect(missing.headers['content-type']).toMatch(/problem\+json/);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('validation matrix through HTTP (nothing stored)', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['missing name', { name: undefined }, 'name'],
      ['empty name', { name: '' }, 'name'],
      ['name with slash', { name: 'a/b' }, 'name'],
      ['name too long', { name: 'x'.repeat(65) }, 'name'],
      ['name not a string', { name: 42 }, 'name'],
      ['bad reportTo', { reportTo: 'not-an-address' }, 'reportTo'],
      ['bad interval', { interval: 'yearly' }, 'interval'],
      ['startAt missing for daily', { startAt: undefined }, 'startAt'],
      ['startAt malformed', { startAt: '01.12.2026 02:30' }, 'startAt'],
      ['startAt impossible date', { startAt: '2026-02-30T02:30:00' }, 'startAt'],
      ['bad timezone', { timezone: 'Mars/Olympus' }, 'timezone'],
      ['data nothing selected', { data: { coreData: false } }, 'data'],
      ['data not an object', { data: 'all' }, 'data'],
      ['data unknown key', { data: { coreData: true, everything: true } }, 'data.everything'],
      ['no destinations', { destinations: [] }, 'destinations'],
      ['unknown destination type', { destinations: [{ type: 'ftp' }] }, 'destinations[0].type'],
      ['sftp host with protocol', { destinations: [{ type: 'sftp', host: 'sftp://x', username: 'u', password: 'p' }] }, 'destinations[0].host'],
      ['sftp without secret', { destinations: [{ type: 'sftp', host: 'h', username: 'u' }] }, 'destinations[0].password'],
      ['smb without password', { destinations: [{ type: 'smb', server: 'nas', share: 'b', username: 'u', security: 'ntlmv2' }] }, 'destinations[0].password'],
      ['dropbox without code', { destinations: [{ type: 'dropbox' }] }, 'destinations[0].authorizationCode'],
      ['email bad to', { destinations: [{ type: 'local' }, { type: 'email', to: 'x' }] }, 'destinations[1].to'],
      ['keepLast zero', { keepLast: 0 }, 'keepLast'],
      ['keepLast fraction', { keepLast: 1.5 }, 'keepLast'],
      ['notifyOnSuccess string', { notifyOnSuccess: 'yes' }, 'notifyOnSuccess'],
      ['language fr', { language: 'fr' }, 'language'],
      ['action unknown', { action: 'saveAndForget' }, 'action'],
      ['unknown field', { colour: 'blue' }, 'colour'],
    ];
    it.each(cases)('%s → 400 naming %s', async (_label, over, field) => {
      const before = await counts();
      const res = await api().post(`${V1}/backup-configurations`, body(over));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await counts()).toEqual(before);
    });

    it('a body that is not an object → 400 naming body', async () => {
      for (const b of [[], 'x', 42]) {
        const res = await api().raw.post(`${V1}/backup-configurations`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).set('Content-Type', 'application/json').send(JSON.stringify(b));
        expect(res.status).toBe(400);
        expect(res.body.errors[0].field).toBe('body');
      }
    });

    it('PATCH validates too (and refuses action)', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body());
      const before = await counts();
      for (const [b, field] of [[{ action: 'save' }, 'action'], [{ interval: 'x' }, 'interval'], [{ destinations: [{ type: 'local', id: randomUUID() }] }, 'destinations[0].id']] as const) {
        const res = await api().patch(`${V1}/backup-configurations/${created.configuration.id}`, b);
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }
      expect(await counts()).toEqual(before);
    });

    it('query strings are validated', async () => {
      expect((await api().get(`${V1}/runs?status=done`)).body.errors[0].field).toBe('status');
      expect((await api().get(`${V1}/backup-configurations?limit=1000`)).status).toBe(400);
      expect((await api().get(`${V1}/dead-letters?includeDiscarded=maybe`)).status).toBe(400);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('auth', () => {
    let routes: { method: string; path: string }[];

    beforeAll(async () => {
      const doc = (await request(base).get('/api/docs-json')).body as { paths: Record<string, Record<string, unknown>> };
      routes = Object.entries(doc.paths)
        .filter(([p]) => p.startsWith(V1))
        .flatMap(([p, ops]) => Object.keys(ops).filter((m) => ['get', 'post', 'patch', 'delete', 'put'].includes(m)).map((method) => ({ method, path: p.replace(/\{[^}]+\}/g, randomUUID()) })));
    });

    it('every /api/v1 route of the document answers 401 without a token and with a wrong one', async () => {
      expect(routes.length).toBeGreaterThanOrEqual(20);
      const before = await counts();
      for (const { method, path } of routes) {
        for (const header of [undefined, 'Bearer wrong-token', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, `Bearer ${ADMIN_TOKEN}x`]) {
          const t = (request(base) as unknown as Record<string, (p: string) => request.Test>)[method](path);
          if (header) t.set('Authorization', header);
          const res = await t.send(method === 'get' || method === 'delete' ? undefined : body());
          expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
          expect(res.headers['content-type']).toMatch(/problem\+json/);
        }
      }
      expect(await counts()).toEqual(before);
    });

    it('health, metrics and the docs need no token', async () => {
      expect((await request(base).get('/metrics')).status).toBe(200);
      expect([200, 503]).toContain((await request(base).get('/health')).status);
      expect((await request(base).get('/api/docs-json')).status).toBe(200);
    });

    it('a service-created token works until revoked', async () => {
      const tokens = new ApiTokensService(new ApiTokensRepository(ds), 'unused-admin-token-here');
      const name = uniqueName('ci');
      const { token } = await tokens.create(name, 'operator');
      const [row] = await ds.query('SELECT token_hash FROM api_tokens WHERE name = $1', [name]);
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.token_hash).not.toContain(token);
      expect((await request(base).get(`${V1}/runs`).set('Authorization', `Bearer ${token}`)).status).toBe(200);
      await tokens.revoke(name);
      expect((await request(base).get(`${V1}/runs`).set('Authorization', `Bearer ${token}`)).status).toBe(401);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('secrets', () => {
    it('never appear in a response or a log line; are sealed at rest; PATCH without them keeps them', async () => {
      const password = `sftp-pw-${randomUUID()}`;
      const smbPassword = `smb-pw-${randomUUID()}`;
      const code = dropbox.issueAuthorizationCode();
      const created = await api().post(
        `${V1}/backup-configurations`,
        body({
          destinations: [
            { type: 'sftp', host: '127.0.0.1', port: 1, username: 'u', password, path: '/backups', hostKeyFingerprint: PINNED },
            { type: 'smb', server: 'nas.local', share: 'backup/pbx', username: 'u', password: smbPassword, security: 'ntlmv2' },
            { type: 'dropbox', authorizationCode: code },
          ],
        }),
      );
      expect(created.status).toBe(201);
      const c = created.body.configuration;
      expect(c.destinations[0]).toMatchObject({ type: 'sftp', password: '***', hasPassword: true, host: '127.0.0.1' });
      expect(c.destinations[2]).toMatchObject({ type: 'dropbox', refreshToken: '***', hasRefreshToken: true });
      expect(c.destinations[2].authorizationCode).toBeUndefined();
      expect(dropbox.stats.codeExchanges).toBeGreaterThanOrEqual(1);

      const rows: { id: string; settings: Record<string, unknown>; secrets: Record<string, string> }[] = await ds.query(
        'SELECT id, settings, secrets FROM destinations WHERE configuration_id = $1 ORDER BY position',
        [c.id],
      );
      const box = new SecretBox(SECRETS_KEY);
      expect(JSON.stringify(rows)).not.toContain(password);
      expect(box.open(rows[0].secrets.password)).toBe(password);
      const refreshToken = box.open(rows[2].secrets.refreshToken);
      expect(refreshToken).toMatch(/\S{8,}/);

      // PATCH with the ids and without secrets (and with the "***" marker echoed back) keeps them.
      const patched = await api().patch(`${V1}/backup-configurations/${c.id}`, {
        reportTo: 'other@example.com',
        destinations: [
          { id: c.destinations[0].id, type: 'sftp', host: '127.0.0.1', port: 1, username: 'u2', path: '/backups', hostKeyFingerprint: PINNED },
          { ...c.destinations[1], hasPassword: undefined },
          { id: c.destinations[2].id, type: 'dropbox' },
        ],
      });
      expect(patched.status).toBe(200);
      expect(patched.body.destinations.map((d: { id: string }) => d.id)).toEqual(c.destinations.map((d: { id: string }) => d.id));
      const after: typeof rows = await ds.query('SELECT id, settings, secrets FROM destinations WHERE configuration_id = $1 AND removed_at IS NULL ORDER BY position', [c.id]);
      expect(after[0].settings.username).toBe('u2');
      expect(box.open(after[0].secrets.password)).toBe(password);
      expect(box.open(after[1].secrets.password)).toBe(smbPassword);
      expect(box.open(after[2].secrets.refreshToken)).toBe(refreshToken);

      // A new password replaces the stored one.
      const newPassword = `sftp-new-${randomUUID()}`;
      await api().patch(`${V1}/backup-configurations/${c.id}`, { destinations: [{ id: c.destinations[0].id, type: 'sftp', host: '127.0.0.1', port: 1, username: 'u', password: newPassword, path: '/backups', hostKeyFingerprint: PINNED }] });
      const [only]: typeof rows = await ds.query('SELECT id, settings, secrets FROM destinations WHERE configuration_id = $1 AND removed_at IS NULL', [c.id]);
      expect(box.open(only.secrets.password)).toBe(newPassword);

      // Read, list and a failing test of the stored destination.
      await api().get(`${V1}/backup-configurations/${c.id}`);
      await api().get(`${V1}/backup-configurations?limit=100`);
      const tested = await api().post(`${V1}/destinations/test`, { configurationId: c.id, destinationId: c.destinations[0].id });
      expect(tested.status).toBe(200);
      expect(tested.body.ok).toBe(false);
      const inline = await api().post(`${V1}/destinations/test`, { destination: { type: 'sftp', host: '127.0.0.1', port: 1, username: 'u', password } });
      expect(inline.status).toBe(200);
      expect(inline.body.ok).toBe(false);
      // A validation error about a destination does not echo the secret either.
      await api().post(`${V1}/backup-configurations`, body({ destinations: [{ type: 'sftp', host: 'bad host', username: 'u', password }] }));

      const secrets = [password, smbPassword, newPassword, code, refreshToken];
      for (const s of secrets) {
        expect(responses.filter((r) => r.includes(s))).toEqual([]);
        expect(logLines.filter((l) => l.includes(s))).toEqual([]);
      }
      expect(logLines.length).toBeGreaterThan(0);
    });

    it('a Dropbox code the exchange refuses → 422 naming the field, nothing stored', async () => {
      const before = await counts();
      const res = await api().post(`${V1}/backup-configurations`, body({ destinations: [{ type: 'local' }, { type: 'dropbox', authorizationCode: 'not-a-code-the-fake-issued' }] }));
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'destinations[1].authorizationCode' })]);
      expect(JSON.stringify(res.body)).not.toContain('not-a-code-the-fake-issued');
      expect(await counts()).toEqual(before);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('actions and runs', () => {
    it('runOnly → 202 { run }, never listed, 404 on read; the run and its secrets exist', async () => {
      const name = uniqueName('Once');
      const res = await api().post(`${V1}/backup-configurations`, body({ name, action: 'runOnly' }));
      expect(res.status).toBe(202);
      expect(res.body.configuration).toBeUndefined();
      const run = res.body.run;
      expect(run).toMatchObject({ status: 'queued', trigger: 'runOnly', kind: 'backup', configurationName: name });
      const list = await api().get(`${V1}/backup-configurations?limit=100`);
      expect(list.body.items.map((i: { name: string }) => i.name)).not.toContain(name);
      expect((await api().get(`${V1}/backup-configurations/${run.configurationId}`)).status).toBe(404);
      expect((await api().post(`${V1}/backup-configurations/${run.configurationId}/runs`)).status).toBe(404);
      const [cfg] = await ds.query('SELECT ephemeral, next_run_at FROM configurations WHERE id = $1', [run.configurationId]);
      expect(cfg).toEqual({ ephemeral: true, next_run_at: null });
      expect((await api().get(`${V1}/runs/${run.id}`)).body.trigger).toBe('runOnly');
      // The same name can still be used for a kept configuration.
      expect((await api().post(`${V1}/backup-configurations`, body({ name }))).status).toBe(201);
    });

    it('saveAndRun → 201 { configuration, run } with exactly one backup.due outbox row for the run', async () => {
      const res = await api().post(`${V1}/backup-configurations`, body({ action: 'saveAndRun' }));
      expect(res.status).toBe(201);
      const { configuration, run } = res.body;
      expect(run).toMatchObject({ status: 'queued', trigger: 'manual', configurationId: configuration.id, artifact: null, deliveries: [] });
      const rows = await ds.query('SELECT type, correlation_id FROM outbox WHERE correlation_id = $1', [run.id]);
      expect(rows).toEqual([{ type: 'backup.due', correlation_id: run.id }]);
      const runs = await ds.query('SELECT status FROM runs WHERE configuration_id = $1', [configuration.id]);
      expect(runs).toEqual([{ status: 'queued' }]);
      // The relay publishes it.
      await expectEventually(async () => (await ds.query('SELECT published_at FROM outbox WHERE correlation_id = $1', [run.id]))[0].published_at !== null);
    });

    it('POST …/:id/runs → 202 { run } and one outbox row', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body());
      const res = await api().post(`${V1}/backup-configurations/${created.configuration.id}/runs`);
      expect(res.status).toBe(202);
      expect(await ds.query('SELECT type FROM outbox WHERE correlation_id = $1', [res.body.run.id])).toEqual([{ type: 'backup.due' }]);
      const listed = await api().get(`${V1}/runs?configurationId=${created.configuration.id}`);
      expect(listed.body.total).toBe(1);
      expect(listed.body.items[0].id).toBe(res.body.run.id);
    });

    it('PATCH recomputes nextRunAt and may switch to manual', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body({ interval: 'daily', startAt: '2030-01-01T02:30:00', timezone: 'UTC' }));
      expect(created.configuration.nextRunAt).toBe('2030-01-01T02:30:00.000Z');
      const patched = await api().patch(`${V1}/backup-configurations/${created.configuration.id}`, { startAt: '2031-06-01T04:00:00', timezone: 'Europe/Berlin' });
      expect(patched.status).toBe(200);
      expect(patched.body.nextRunAt).toBe('2031-06-01T02:00:00.000Z');
      const [row] = await ds.query('SELECT next_run_at FROM configurations WHERE id = $1', [created.configuration.id]);
      expect(row.next_run_at.toISOString()).toBe('2031-06-01T02:00:00.000Z');
      expect((await api().patch(`${V1}/backup-configurations/${created.configuration.id}`, { interval: 'manual' })).body.nextRunAt).toBeNull();
      // Renaming onto an existing name is a conflict.
      const other = await api().post(`${V1}/backup-configurations`, body());
      const clash = await api().patch(`${V1}/backup-configurations/${created.configuration.id}`, { name: other.body.configuration.name.toLowerCase() });
      expect(clash.status).toBe(409);
    });

    it('DELETE → 204, gone from list and read, its runs stay listed', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body({ action: 'saveAndRun' }));
      const id = created.configuration.id;
      expect((await api().delete(`${V1}/backup-configurations/${id}`)).status).toBe(204);
      expect((await api().get(`${V1}/backup-configurations/${id}`)).status).toBe(404);
      expect((await api().delete(`${V1}/backup-configurations/${id}`)).status).toBe(404);
      const runs = await api().get(`${V1}/runs?configurationId=${id}`);
      expect(runs.body.items.map((r: { id: string }) => r.id)).toEqual([created.run.id]);
      const [row] = await ds.query('SELECT deleted_at, next_run_at FROM configurations WHERE id = $1', [id]);
      expect(row.deleted_at).not.toBeNull();
      expect(row.next_run_at).toBeNull();
      // The name is free again.
      expect((await api().post(`${V1}/backup-configurations`, body({ name: created.configuration.name }))).status).toBe(201);
    });

    it('destinations: add (201), remove (204, soft), refuse removing the last one (409)', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body());
      const id = created.configuration.id;
      const added = await api().post(`${V1}/backup-configurations/${id}/destinations`, { type: 'email', to: 'ops@example.com' });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ id: expect.any(String), type: 'email', to: 'ops@example.com' });
      expect((await api().post(`${V1}/backup-configurations/${id}/destinations`, { type: 'email' })).status).toBe(400);
      const first = created.configuration.destinations[0].id;
      expect((await api().delete(`${V1}/backup-configurations/${id}/destinations/${first}`)).status).toBe(204);
      const [row] = await ds.query('SELECT removed_at FROM destinations WHERE id = $1', [first]);
      expect(row.removed_at).not.toBeNull();
      const last = await api().delete(`${V1}/backup-configurations/${id}/destinations/${added.body.id}`);
      expect(last.status).toBe(409);
      expect((await api().delete(`${V1}/backup-configurations/${id}/destinations/${randomUUID()}`)).status).toBe(404);
      expect((await api().get(`${V1}/backup-configurations/${id}`)).body.destinations.map((d: { id: string }) => d.id)).toEqual([added.body.id]);
    });

    it('archive configurations: same conventions, runs listed with kind archive', async () => {
      const res = await api().post(`${V1}/archive-configurations`, { ...archiveBody(), action: 'saveAndRun' });
      expect(res.status).toBe(201);
      expect(res.body.configuration.items).toEqual({ cdr: { enabled: true, daysToKeep: 90 }, voicemails: { enabled: false, daysToKeep: 0 } });
      expect(res.body.run.kind).toBe('archive');
      expect(await ds.query('SELECT type FROM outbox WHERE correlation_id = $1', [res.body.run.id])).toEqual([{ type: 'archive.due' }]);
      const runs = await api().get(`${V1}/runs?kind=archive`);
      expect(runs.body.items.map((r: { id: string }) => r.id)).toContain(res.body.run.id);
      expect((await api().get(`${V1}/backup-configurations/${res.body.configuration.id}`)).status).toBe(404);
      expect((await api().patch(`${V1}/archive-configurations/${res.body.configuration.id}`, { items: { cdr: { enabled: false, daysToKeep: 1 } } })).status).toBe(400);
      const patched = await api().patch(`${V1}/archive-configurations/${res.body.configuration.id}`, { items: { voicemails: { enabled: true, daysToKeep: 30 } } });
      expect(patched.status).toBe(200);
      expect(patched.body.items.voicemails).toEqual({ enabled: true, daysToKeep: 30 });
    });

    it('shows deliveries: running as pending with bytesSent', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body({ action: 'saveAndRun' }));
      const runId = created.run.id;
      const destId = created.configuration.destinations[0].id;
      await ds.query(`INSERT INTO deliveries (run_id, destination_id, type, target, status, attempts, bytes_sent) VALUES ($1, $2, 'local', '[LOCAL]/x', 'running', 1, 42)`, [runId, destId]);
      const run = (await api().get(`${V1}/runs/${runId}`)).body;
      expect(run.deliveries).toEqual([expect.objectContaining({ destinationId: destId, status: 'pending', bytesSent: 42, attempts: 1, target: '[LOCAL]/x' })]);
    });

    it('shows a delivery waiting after a transient failure: pending, why, and when it tries again', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body({ action: 'saveAndRun' }));
      const runId = created.run.id;
      const destId = created.configuration.destinations[0].id;
      const at = new Date(Date.now() + 60_000);
      await ds.query(
        `INSERT INTO deliveries (run_id, destination_id, type, target, status, attempts, code, error, failing_since, next_attempt_at)
         VALUES ($1, $2, 'sftp', '[SFTP]nas:/b', 'pending', 3, 'mountfail', 'could not connect', now(), $3)`,
        [runId, destId, at],
      );
      const run = (await api().get(`${V1}/runs/${runId}`)).body;
      expect(run.deliveries).toEqual([
        expect.objectContaining({ status: 'pending', attempts: 3, code: 'mountfail', error: 'could not connect', nextAttemptAt: at.toISOString() }),
      ]);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('download', () => {
    it('409 before packed, 200 full, 206 range, 416 bad range, 410 after cleanup', async () => {
      const { body: created } = await api().post(`${V1}/backup-configurations`, body({ name: uniqueName('Büro'), action: 'saveAndRun' }));
      const runId = created.run.id;
      const url = `${V1}/runs/${runId}/download`;
      const early = await api().get(url);
      expect(early.status).toBe(409);
      expect(early.headers['content-type']).toMatch(/problem\+json/);

      const content = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
      const fileName = `${created.configuration.name}_20261201-013000.sar`;
      await writeFile(join(env.ARTIFACT_DIR, `${runId}.sar`), content);
      await ds.query(`UPDATE runs SET status = 'dispatching', packed_at = now(), artifact_file_name = $2, artifact_size = $3, artifact_sha256 = 'abc' WHERE id = $1`, [runId, fileName, content.length]);

      const full = await api().get(url).buffer(true).parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(full.status).toBe(200);
      expect(full.headers['content-length']).toBe('1000');
      expect(full.headers['accept-ranges']).toBe('bytes');
      expect(full.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent(fileName)}`);
      expect(Buffer.compare(full.body as Buffer, content)).toBe(0);

      const part = await api().get(url).set('Range', 'bytes=10-19').buffer(true).parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe('bytes 10-19/1000');
      expect(part.headers['content-length']).toBe('10');
      expect(Buffer.compare(part.body as Buffer, content.subarray(10, 20))).toBe(0);

      const bad = await api().get(url).set('Range', 'bytes=5000-');
      expect(bad.status).toBe(416);
      expect(bad.headers['content-range']).toBe('bytes */1000');

      await rm(join(env.ARTIFACT_DIR, `${runId}.sar`));
      expect((await api().get(url)).status).toBe(410);
      await writeFile(join(env.ARTIFACT_DIR, `${runId}.sar`), content);
      await ds.query('UPDATE runs SET artifact_removed_at = now() WHERE id = $1', [runId]);
      expect((await api().get(url)).status).toBe(410);
      expect((await api().get(`${V1}/runs/${randomUUID()}/download`)).status).toBe(404);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('dead letters', () => {
    const insertLetter = async (over: { queue?: string; type?: string; correlationId?: string } = {}) => {
      const messageId = randomUUID();
      const correlationId = over.correlationId ?? randomUUID();
      const type = over.type ?? 'backup.due';
      const envelope = { messageId, type, version: 1, correlationId, occurredAt: new Date().toISOString(), payload: { runId: correlationId, kind: 'backup' } };
      const [row] = await ds.query(
        `INSERT INTO dead_letters (queue, message_id, type, routing_key, correlation_id, headers, body, reason, attempts, first_failed_at, last_failed_at)
         VALUES ($1, $2, $3, 'backup.due.v1', $4, '{}', $5, 'disk on fire', 5, now(), now()) RETURNING id`,
        [over.queue ?? 'packer.jobs.v1', messageId, type, correlationId, JSON.stringify(envelope)],
      );
      return { id: row.id as string, messageId, correlationId };
    };

    /** Messages currently on a namespaced queue (taken off it). */
    const drain = async (queue: string): Promise<string[]> => {
      const conn = await connect(testUrls.amqp);
      try {
        const ch = await conn.createChannel();
        const ids: string[] = [];
        for (;;) {
          const msg = await ch.get(env.AMQP_NAMESPACE + queue, { noAck: true });
          if (!msg) break;
          ids.push(String(msg.properties.messageId));
        }
        await ch.close();
        return ids;
      } finally {
        await conn.close();
      }
    };

    it('list / filter / show / replay once (409 the second time) / discard', async () => {
      const runId = randomUUID();
      const a = await insertLetter({ correlationId: runId });
      const b = await insertLetter({ queue: 'notifier.events.v1', type: 'backup.failed' });
      const list = await api().get(`${V1}/dead-letters?runId=${runId}`);
      expect(list.status).toBe(200);
      expect(list.body.items.map((d: { id: string }) => d.id)).toEqual([a.id]);
      expect((await api().get(`${V1}/dead-letters?queue=notifier.events.v1`)).body.items.map((d: { id: string }) => d.id)).toContain(b.id);
      expect((await api().get(`${V1}/dead-letters?type=backup.failed`)).body.items.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([b.id]));
      const shown = await api().get(`${V1}/dead-letters/${a.id}`);
      expect(shown.body).toMatchObject({ id: a.id, runId, reason: 'disk on fire', body: expect.any(String) });

      await drain('packer.jobs.v1');
      // Two concurrent replays: exactly one publishes.
      const [r1, r2] = await Promise.all([api().post(`${V1}/dead-letters/${a.id}/replay`), api().post(`${V1}/dead-letters/${a.id}/replay`)]);
      expect([r1.status, r2.status].sort()).toEqual([200, 409]);
      const conflict = r1.status === 409 ? r1 : r2;
      expect(conflict.body.detail).toMatch(/already replayed/);
      const arrived = await expectEventually(async () => {
        const ids = await drain('packer.jobs.v1');
        return ids.length ? ids : null;
      });
      expect(arrived).toEqual([a.messageId]);
      const [row] = await ds.query('SELECT replayed_at, replayed_by FROM dead_letters WHERE id = $1', [a.id]);
      expect(row.replayed_at).not.toBeNull();
      expect(row.replayed_by).toBe('admin');
      expect((await api().post(`${V1}/dead-letters/${a.id}/replay`)).status).toBe(409);

      expect((await api().delete(`${V1}/dead-letters/${b.id}`)).status).toBe(204);
      expect((await api().get(`${V1}/dead-letters?queue=notifier.events.v1`)).body.items.map((d: { id: string }) => d.id)).not.toContain(b.id);
      expect((await api().get(`${V1}/dead-letters?queue=notifier.events.v1&includeDiscarded=true`)).body.items.map((d: { id: string }) => d.id)).toContain(b.id);
      const [discarded] = await ds.query('SELECT discarded_at, discarded_by FROM dead_letters WHERE id = $1', [b.id]);
      expect(discarded.discarded_by).toBe('admin');
      expect((await api().post(`${V1}/dead-letters/${b.id}/replay`)).status).toBe(409);
      expect((await api().delete(`${V1}/dead-letters/${randomUUID()}`)).status).toBe(404);
    });

    it('replay by filter → { replayed: n }', async () => {
      const runId = randomUUID();
      const letters = [await insertLetter({ correlationId: runId }), await insertLetter({ correlationId: runId })];
      await insertLetter();
      await drain('packer.jobs.v1');
      const res = await api().post(`${V1}/dead-letters/replay`, { runId });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ replayed: 2 });
      const arrived = await expectEventually(async () => {
        const ids = await drain('packer.jobs.v1');
        return ids.length >= 2 ? ids : null;
      });
      expect(arrived.sort()).toEqual(letters.map((l) => l.messageId).sort());
      expect((await api().post(`${V1}/dead-letters/replay`, { runId })).body).toEqual({ replayed: 0 });
      expect((await api().post(`${V1}/dead-letters/replay`, { runId: 'x' })).status).toBe(400);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('destinations test, metrics, OpenAPI', () => {
    it('tests a local destination: 200 { ok: true, steps }', async () => {
      const res = await api().post(`${V1}/destinations/test`, { destination: { type: 'local', path: 'probe' } });
      expect(res.status).toBe(200);
      expect(res.body.ok).toBe(true);
      expect(res.body.steps.length).toBeGreaterThan(0);
      expect((await api().post(`${V1}/destinations/test`, { destination: { type: 'sftp' } })).body.errors.map((e: { field: string }) => e.field)).toContain('destination.host');
      expect((await api().post(`${V1}/destinations/test`, { configurationId: randomUUID(), destinationId: randomUUID() })).status).toBe(404);
    });

    it('metrics: Prometheus text with runs by status, outbox pending, dead letters open', async () => {
      const res = await request(base).get('/metrics');
      expect(res.headers['content-type']).toMatch(/text\/plain/);
      expect(res.text).toMatch(/^pbx_backup_runs\{kind="backup",status="queued"\} \d+$/m);
      expect(res.text).toMatch(/^pbx_backup_outbox_pending \d+$/m);
      expect(res.text).toMatch(/^pbx_backup_dead_letters_open \d+$/m);
    });

    it('every route of the router is in /api/docs-json, with the zod request schemas as components', async () => {
      const doc = (await request(base).get('/api/docs-json')).body as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
      const router = (testApi.app.getHttpAdapter().getInstance() as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router;
      const routes = router.stack
        .filter((l) => l.route)
        .flatMap((l) => Object.keys(l.route!.methods).filter((m) => m !== '_all').map((m) => ({ method: m, path: l.route!.path })))
        .filter((r) => !r.path.startsWith('/api/docs'));
      expect(routes.length).toBeGreaterThanOrEqual(22);
      for (const r of routes) {
        const openApiPath = r.path.replace(/:(\w+)/g, '{$1}');
        expect({ route: `${r.method} ${r.path}`, documented: Boolean(doc.paths[openApiPath]?.[r.method]) }).toEqual({ route: `${r.method} ${r.path}`, documented: true });
      }
      expect(doc.components.schemas.CreateBackupConfigurationRequest).toMatchObject({ type: 'object', properties: expect.objectContaining({ name: expect.any(Object) }) });
      const swaggerUi = await request(base).get('/api/docs/');
      expect(swaggerUi.status).toBe(200);
    });
  });

  function archiveBody() {
    return {
      name: uniqueName('Archive'),
      reportTo: 'ops@example.com',
      interval: 'monthly',
      startAt: '2026-12-01T03:00:00',
      items: { cdr: { enabled: true, daysToKeep: 90 } },
      destinations: [{ type: 'local' }],
    };
  }
});

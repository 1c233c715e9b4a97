import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import type { Role } from '@pbx/contracts';
import { uniqueName } from '@pbx/testing';
import { ApiTokensRepository, ApiTokensService, AuditService } from '@pbx/ops';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './api.test-helper';
import { configurationBody } from './fixtures.test-helper';

const V1 = '/api/v1';
const ALL: Role[] = ['admin', 'operator', 'viewer'];
const OPS: Role[] = ['admin', 'operator'];
const ADMIN_ONLY: Role[] = ['admin'];

/**
 * Who may call what, written out from issue #15 (not derived from the code's own table): a
 * change in the role table or a new route without a line here fails this suite.
 */
const MATRIX: Array<[method: string, path: string, allowed: Role[]]> = [
  ...['backup-configurations', 'archive-configurations'].flatMap((c): Array<[string, string, Role[]]> => [
    ['get', `${V1}/${c}`, ALL],
    ['post', `${V1}/${c}`, ADMIN_ONLY],
    ['get', `${V1}/${c}/{id}`, ALL],
    ['patch', `${V1}/${c}/{id}`, ADMIN_ONLY],
    ['delete', `${V1}/${c}/{id}`, ADMIN_ONLY],
    ['post', `${V1}/${c}/{id}/destinations`, ADMIN_ONLY],
    ['delete', `${V1}/${c}/{id}/destinations/{destinationId}`, ADMIN_ONLY],
    ...(c === 'backup-configurations' ? [['get', `${V1}/${c}/{id}/destinations/{destinationId}/backups`, ALL] as [string, string, Role[]]] : []),
    ['post', `${V1}/${c}/{id}/runs`, OPS],
  ]),
  ['get', `${V1}/runs`, ALL],
  ['get', `${V1}/runs/{id}`, ALL],
  ['get', `${V1}/runs/{id}/events`, ALL],
  ['get', `${V1}/runs/{id}/download`, OPS],
  ['post', `${V1}/runs/{id}/verify`, OPS],
  ['post', `${V1}/runs/{id}/cancel`, OPS],
  ['post', `${V1}/uploads`, OPS],
  ['put', `${V1}/uploads/{id}`, OPS],
  ['get', `${V1}/uploads/{id}`, OPS],
  ['head', `${V1}/uploads/{id}`, OPS],
  ['post', `${V1}/restores`, OPS],
  ['get', `${V1}/restores`, OPS],
  ['get', `${V1}/restores/{id}`, OPS],
  ['get', `${V1}/restores/{id}/events`, OPS],
  ['get', `${V1}/dead-letters`, OPS],
  ['get', `${V1}/dead-letters/{id}`, OPS],
  ['post', `${V1}/dead-letters/replay`, OPS],
  ['post', `${V1}/dead-letters/discard`, OPS],
  ['post', `${V1}/dead-letters/{id}/replay`, OPS],
  ['delete', `${V1}/dead-letters/{id}`, OPS],
  ['post', `${V1}/destinations/test`, ADMIN_ONLY],
  ['get', `${V1}/destinations/usb/volumes`, ADMIN_ONLY],
  ['get', `${V1}/dropbox/authorize-url`, ADMIN_ONLY],
  ['get', `${V1}/audit-events`, ADMIN_ONLY],
  ['get', `${V1}/me`, ALL],
  ['get', `${V1}/vocabulary/delivery-codes`, ALL],
];
const PUBLIC = ['get /health', 'get /metrics'];

describe('access: deny by default, roles, audit trail, limits (real Postgres + RabbitMQ, in-process)', () => {
  let ds: DataSource;
  let api: TestApi;
  const token: Record<Role, string> = { admin: ADMIN_TOKEN, operator: '', viewer: '' };
  const tokenId: Partial<Record<Role, string>> = {};
  let tokens: ApiTokensService;

  const call = (a: TestApi, method: string, path: string, role?: Role) => {
    const t = (request(a.base) as unknown as Record<string, (p: string) => request.Test>)[method](path);
    return role ? t.set('Authorization', `Bearer ${token[role]}`) : t;
  };

  const counts = async () => {
    const [row] = await ds.query(
      `SELECT (SELECT count(*) FROM configurations)::int AS c, (SELECT count(*) FROM runs)::int AS r, (SELECT count(*) FROM outbox)::int AS o`,
    );
    return row as { c: number; r: number; o: number };
  };

  const configBody = (over: Record<string, unknown> = {}) => configurationBody(uniqueName('Access'), over);

  beforeAll(async () => {
    api = await startTestApi('access');
    ds = api.ds;
    tokens = new ApiTokensService(new ApiTokensRepository(ds), 'unused-admin-token-here');
    for (const role of ['operator', 'viewer'] as const) {
      const created = await tokens.create(uniqueName(role), role);
      token[role] = created.token;
      tokenId[role] = created.info.id;
    }
  });

  afterAll(async () => {
    await api?.close();
  });

  it('the route decides, not the spelling of the path: no variant of a protected path answers without a token', async () => {
    const before = await counts();
    const runOnly = configBody({ action: 'runOnly', destinations: [{ type: 'email', to: 'attacker@example.com' }] });
    for (const path of ['/API/v1/runs', '/Api/V1/Runs', '/api/V1/runs/', '/api/v1/RUNS', '/%61pi/v1/runs', '/api/v1/run%73']) {
      for (const method of ['get', 'head']) {
        const res = await call(api, method, path);
        expect({ method, path, status: res.status, answered: ![401, 404].includes(res.status) }).toMatchObject({ answered: false });
      }
    }
    for (const path of ['/API/v1/backup-configurations', '/api/V1/Backup-Configurations', '/api/v1/backup-configurations/']) {
      const res = await call(api, 'post', path).send(runOnly);
      expect({ path, status: res.status, answered: ![401, 404].includes(res.status) }).toMatchObject({ answered: false });
    }
    expect(await counts()).toEqual(before);
  });

  it('every operation in the OpenAPI document is in the role matrix or public, and nothing else is', async () => {
    const doc = (await request(api.base).get('/api/docs-json')).body as { paths: Record<string, Record<string, { security?: unknown[]; 'x-permission'?: string }>> };
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
    const expected = [...MATRIX.map(([m, p]) => `${m} ${p}`), ...PUBLIC];
    expect(documented.sort()).toEqual(expected.sort());
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const isPublic = PUBLIC.includes(`${method} ${path}`);
        expect({ op: `${method} ${path}`, secured: Boolean(op.security?.length), permission: Boolean(op['x-permission']) }).toEqual({
          op: `${method} ${path}`,
          secured: !isPublic,
          permission: !isPublic,
        });
      }
    }
  });

  it('each role may do exactly what the matrix says (403 problem code forbidden otherwise), and nothing changes on refusal', async () => {
    const before = await counts();
    for (const [method, template, allowed] of MATRIX) {
      const path = template.replace('{id}', randomUUID()).replace('{destinationId}', randomUUID());
      for (const role of ALL) {
        const t = call(api, method, path, role);
        const res = method === 'post' || method === 'patch' ? await t.send({}) : await t;
        const outcome = { route: `${method} ${template}`, role, refused: res.status === 403 };
        expect(outcome).toEqual({ ...outcome, refused: !allowed.includes(role) });
        expect(res.status).not.toBe(401);
        if (res.status === 403) {
          expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
          // A HEAD answer has no body to carry the problem.
          if (method !== 'head') expect(res.body).toMatchObject({ status: 403, code: 'forbidden' });
        }
      }
    }
    expect(await counts()).toEqual(before);
  });

  it('health and metrics answer without a token; a token of no known role is refused', async () => {
    expect((await request(api.base).get('/metrics')).status).toBe(200);
    expect([200, 503]).toContain((await request(api.base).get('/health')).status);
    const { token: odd, info } = await tokens.create(uniqueName('odd'), 'viewer');
    await ds.query(`UPDATE api_tokens SET role = 'superuser' WHERE id = $1`, [info.id]);
    expect((await request(api.base).get(`${V1}/runs`).set('Authorization', `Bearer ${odd}`)).status).toBe(401);
  });

  it('tokens need a known role; revoking returns what was revoked', async () => {
    await expect(tokens.create(uniqueName('x'), 'root')).rejects.toMatchObject({ code: 'validation' });
    const name = uniqueName('short-lived');
    const { token: t } = await tokens.create(name, 'viewer');
    expect((await request(api.base).get(`${V1}/runs`).set('Authorization', `Bearer ${t}`)).status).toBe(200);
    const revoked = await tokens.revoke(name);
    expect(revoked).toEqual([expect.objectContaining({ name, role: 'viewer', revokedAt: expect.any(String) })]);
    expect((await request(api.base).get(`${V1}/runs`).set('Authorization', `Bearer ${t}`)).status).toBe(401);
  });

  describe('audit trail', () => {
    const events = async (query: Record<string, string>) => {
      const res = await call(api, 'get', `${V1}/audit-events`, 'admin').query(query);
      expect(res.status).toBe(200);
      return res.body as { items: Array<Record<string, unknown>>; total: number };
    };

    it('records changes with who, what, target, outcome and address; refusals by role too; never a secret', async () => {
      const password = `smb-secret-${randomUUID()}`;
      const created = await call(api, 'post', `${V1}/backup-configurations`, 'admin').send(
        configBody({ action: 'saveAndRun', destinations: [{ type: 'smb', server: 'nas.local', share: 'backup', username: 'u', password, security: 'ntlmv2' }] }),
      );
      expect(created.status).toBe(201);
      const configId = created.body.configuration.id as string;
      const runId = created.body.run.id as string;

      const denied = await call(api, 'delete', `${V1}/backup-configurations/${configId}`, 'viewer');
      expect(denied.status).toBe(403);
      const started = await call(api, 'post', `${V1}/backup-configurations/${configId}/runs`, 'operator');
      expect(started.status).toBe(202);
      const download = await call(api, 'get', `${V1}/runs/${runId}/download`, 'operator');
      expect(download.status).toBe(409); // not packed yet: refused, and recorded as such

      const byTarget = await events({ targetId: configId });
      const summary = byTarget.items.map((e) => [e.action, e.tokenName, e.outcome]);
      expect(summary).toEqual(
        expect.arrayContaining([
          ['configuration.create', 'admin', 'ok'],
          ['run.start', 'admin', 'ok'],
          ['configuration.delete', expect.stringMatching(/^viewer/), 'refused'],
          ['run.start', expect.stringMatching(/^operator/), 'ok'],
        ]),
      );
      const refusal = byTarget.items.find((e) => e.action === 'configuration.delete');
      expect(refusal).toMatchObject({ tokenId: tokenId.viewer, targetType: 'configuration', clientAddress: expect.stringMatching(/127\.0\.0\.1/), detail: { status: 403 } });
      expect(byTarget.items.find((e) => e.action === 'run.start' && e.tokenName !== 'admin')).toMatchObject({ detail: { runId: started.body.run.id } });
      const downloads = await events({ action: 'run.download', targetId: runId });
      expect(downloads.items).toEqual([expect.objectContaining({ outcome: 'refused', tokenId: tokenId.operator, detail: { status: 409, code: 'not_ready' } })]);

      const rows = await ds.query('SELECT * FROM audit_events');
      expect(JSON.stringify(rows)).not.toContain(password);
    });

    it('filters by action, target and time, pages newest first, and is for admins only', async () => {
      const a = await call(api, 'post', `${V1}/backup-configurations`, 'admin').send(configBody());
      const b = await call(api, 'post', `${V1}/backup-configurations`, 'admin').send(configBody());
      expect([a.status, b.status]).toEqual([201, 201]);
      const page1 = await events({ action: 'configuration.create', limit: '1' });
      expect(page1.items).toHaveLength(1);
      expect(page1.items[0]).toMatchObject({ targetId: b.body.configuration.id });
      expect(page1.total).toBeGreaterThanOrEqual(2);
      const future = await events({ action: 'configuration.create', from: new Date(Date.now() + 60_000).toISOString() });
      expect(future.total).toBe(0);
      const past = await events({ targetId: a.body.configuration.id, to: new Date(Date.now() + 60_000).toISOString() });
      expect(past.items.map((e) => e.action)).toEqual(['configuration.create']);
      expect((await call(api, 'get', `${V1}/audit-events?action=nope`, 'admin')).status).toBe(400);
      expect((await call(api, 'get', `${V1}/audit-events`, 'operator')).status).toBe(403);
    });

    it('keeps events AUDIT_RETENTION_DAYS (365 by default)', async () => {
      const marker = uniqueName('retention');
      await ds.query(
        `INSERT INTO audit_events (at, token_name, action, target_type, target_id, outcome) VALUES
           (now() - interval '366 days', 'admin', 'configuration.delete', 'configuration', $1, 'ok'),
           (now() - interval '364 days', 'admin', 'configuration.update', 'configuration', $1, 'ok')`,
        [marker],
      );
      expect(await api.app.get(AuditService).prune()).toBeGreaterThanOrEqual(1);
      const left = await ds.query('SELECT action FROM audit_events WHERE target_id = $1', [marker]);
      expect(left).toEqual([{ action: 'configuration.update' }]);
    });
  });

  describe('limits (@nestjs/throttler)', () => {
    let limited: TestApi;
    beforeAll(async () => {
      // A second api on the same database (the tokens above), with the limits set low.
      limited = await startTestApi('access', { AUTH_FAILURES_PER_MINUTE: 3, TOKEN_REQUESTS_PER_MINUTE: 5 }, { db: api });
    });

    afterAll(async () => {
      await limited?.close();
    });

    it('failed authentications per address: 401 up to the limit, then 429 with Retry-After; a valid token still works', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await request(limited.base).get(`${V1}/runs`).set('Authorization', `Bearer wrong-${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const last = await request(limited.base).get(`${V1}/runs`);
      expect(last.status).toBe(429);
      expect(Number(last.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(last.body).toMatchObject({ status: 429, code: 'rate_limited' });
      expect((await call(limited, 'get', `${V1}/runs`, 'admin')).status).toBe(200);
    });

    it('each token has its own request budget: 429 with Retry-After past it, other tokens unaffected', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(limited, 'get', `${V1}/runs`, 'viewer')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const over = await call(limited, 'get', `${V1}/runs`, 'viewer');
      expect(over.body).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await call(limited, 'get', `${V1}/runs`, 'operator')).status).toBe(200);
    });
  });
});

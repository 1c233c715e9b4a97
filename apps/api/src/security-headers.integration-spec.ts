import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './api.test-helper';

describe('security headers and what responses show (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi('hdr');
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = (path: string, token: string | null = ADMIN_TOKEN) => {
    const t = request(api.base).get(path);
    return token ? t.set('Authorization', `Bearer ${token}`) : t;
  };
  const expectCommonHeaders = (res: request.Response) => {
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  };

  it('API JSON, problem+json and public health answers', async () => {
    const json = await get('/api/v1/backup-configurations');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expectCommonHeaders(json);

    for (const res of [await get('/api/v1/backup-configurations', null), await get(`/api/v1/no-such-route/${randomUUID()}`), await get(`/api/v1/runs/${randomUUID()}`)]) {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectCommonHeaders(res);
    }
    expectCommonHeaders(await get('/health', null));
  });

  it('downloads; a Range of an unknown unit gets the whole file', async () => {
    const created = await request(api.base)
      .post('/api/v1/backup-configurations')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ name: uniqueName('Hdr'), reportTo: 'ops@example.com', interval: 'manual', data: { coreData: true, cdrAndVoicemails: false, announcements: false }, destinations: [{ type: 'local' }], action: 'saveAndRun' });
    expect(created.status).toBe(201);
    const runId: string = created.body.run.id;
    const content = Buffer.alloc(1000, 7);
    await writeFile(join(api.env.ARTIFACT_DIR, `${runId}.sar`), content);
    await api.ds.query(`UPDATE runs SET status = 'dispatching', packed_at = now(), artifact_file_name = 'x.sar', artifact_size = 1000, artifact_sha256 = 'abc' WHERE id = $1`, [runId]);

    const full = await get(`/api/v1/runs/${runId}/download`);
    expect(full.status).toBe(200);
    expectCommonHeaders(full);
    const items = await get(`/api/v1/runs/${runId}/download`).set('Range', 'items=0-9');
    expect(items.status).toBe(200);
    expect(items.headers['content-length']).toBe('1000');
    expect(items.headers['content-range']).toBeUndefined();
  });

  it('the Swagger page works under its CSP: same-origin scripts only, none inline, each of them loads', async () => {
    const page = await get('/api/docs', null);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectCommonHeaders(page);
    const csp = directives(page.headers['content-security-policy']);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['style-src']).toEqual(["'self'", "'unsafe-inline'"]); // the page has inline <style> blocks
    expect(csp['upgrade-insecure-requests']).toBeUndefined(); // plain http on a LAN must keep working

    const html = page.text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter(([, attrs, body]) => !/\bsrc=/.test(attrs) && body.trim() !== '')).toEqual([]);
    const assets = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/gi)].map((m) => m[1]);
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(?:[a-z]+:)?\/\//i); // same origin
      const res = await get(new URL(asset, `${api.base}/api/docs/`).pathname, null);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(assets.some((a) => a.endsWith('swagger-ui-init.js'))).toBe(true);
  });

  it('404 details never repeat the submitted value', async () => {
    const marker = `probe${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    for (const path of [
      `/api/v1/${marker}`,
      `/api/v1/runs/${marker}`,
      `/api/v1/runs/${id}`,
      `/api/v1/runs/${id}/download`,
      `/api/v1/backup-configurations/${id}`,
      `/api/v1/archive-configurations/${marker}`,
      `/api/v1/dead-letters/${id}`,
    ]) {
      const res = await get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.body.detail).not.toContain(marker);
      expect(res.body.detail).not.toContain(id);
    }
  });

  it('the OpenAPI bearer scheme is an opaque token, not a JWT', async () => {
    const doc = await get('/api/docs-json', null);
    expect(doc.status).toBe(200);
    const scheme = doc.body.components.securitySchemes.bearer;
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(JSON.stringify(scheme)).not.toMatch(/jwt/i);
  });
});

function directives(csp: string): Record<string, string[]> {
  return Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name, values]));
}

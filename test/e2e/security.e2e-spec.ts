/**
 * The attacker's view of the running api process: for every operation of its own OpenAPI
 * document, every spelling of the path (case of each segment, trailing slash, doubled
 * slash, percent-encoded letters) and HEAD/OPTIONS, without a token, with a wrong one and
 * with each role. Only public operations answer without a token; a role gets 403 exactly
 * where its permissions (libs/contracts) do not reach, whatever the spelling.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ROLES, roleAllows, type Permission, type Role } from '@pbx/contracts';
import { testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

interface Operation {
  method: string;
  template: string;
  permission?: Permission;
}

/** Answers that reveal nothing: not authenticated, no such route, no such method. */
const SILENT = [401, 404, 405];

function spellings(path: string): string[] {
  const segments = path.split('/').filter(Boolean);
  const out = new Set<string>([path, `${path}/`, path.replace('/', '//'), `/${segments.join('//')}`]);
  segments.forEach((seg, i) => {
    const upper = [...segments];
    upper[i] = seg.toUpperCase();
    out.add(`/${upper.join('/')}`);
    const encoded = [...segments];
    encoded[i] = seg.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
    out.add(`/${encoded.join('/')}`);
  });
  return [...out];
}

describe('security: every route, every spelling, every credential (api process)', () => {
  let e: E2eEnv;
  let operations: Operation[];
  const credentials: Record<string, string | undefined> = {};

  beforeAll(async () => {
    // Limits high enough for the thousands of requests below; access.integration-spec tests the limits.
    e = await createE2eEnv('sec', { AUTH_FAILURES_PER_MINUTE: '1000000', TOKEN_REQUESTS_PER_MINUTE: '1000000' });
    await e.start(['api']);
    const db = new Client({ connectionString: testUrls.database });
    await db.connect();
    try {
      for (const role of ROLES) {
        const token = `pbx_${randomBytes(24).toString('base64url')}`;
        const hash = createHash('sha256').update(token).digest('hex');
        await db.query(`INSERT INTO "${e.schema}".api_tokens (name, role, token_hash) VALUES ($1, $2, $3)`, [`e2e-${role}`, role, hash]);
        credentials[role] = token;
      }
    } finally {
      await db.end();
    }
    credentials.none = undefined;
    credentials.wrong = `pbx_${randomBytes(24).toString('base64url')}`;
    const doc = (await e.api.request<{ paths: Record<string, Record<string, { 'x-permission'?: Permission }>> }>('GET', '/api/docs-json')).body;
    operations = Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), template, permission: op['x-permission'] })),
    );
  }, 120_000);

  afterAll(async () => {
    await e?.teardown();
  });

  const send = async (method: string, path: string, who: string) => {
    const token = credentials[who];
    const res = await fetch(`${e.stack.apiUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'POST' || method === 'PATCH' ? { 'content-type': 'application/json' } : {}) },
      body: method === 'POST' || method === 'PATCH' ? '{}' : undefined,
    });
    await res.arrayBuffer();
    return res.status;
  };

  it('reads a document with the whole api in it', () => {
    expect(operations.length).toBeGreaterThanOrEqual(25);
    expect(operations.filter((o) => !o.permission).map((o) => `${o.method} ${o.template}`).sort()).toEqual(['GET /health', 'GET /metrics']);
  });

  it('without a token or with a wrong one, no spelling of a protected route answers', async () => {
    const answered: string[] = [];
    for (const op of operations.filter((o) => o.permission)) {
      const path = op.template.replace(/\{[^}]+\}/g, () => randomUUID());
      const methods = op.method === 'GET' ? ['GET', 'HEAD', 'OPTIONS'] : [op.method, 'OPTIONS'];
      for (const spelled of spellings(path)) {
        for (const method of methods) {
          for (const who of ['none', 'wrong']) {
            const status = await send(method, spelled, who);
            if (!SILENT.includes(status)) answered.push(`${who} ${method} ${spelled} -> ${status}`);
          }
        }
      }
    }
    expect(answered).toEqual([]);
  }, 120_000);

  it('each role is refused (403) exactly where its permissions do not reach, in every spelling that reaches the route', async () => {
    const wrong: string[] = [];
    for (const op of operations.filter((o) => o.permission)) {
      const path = op.template.replace(/\{[^}]+\}/g, () => randomUUID());
      for (const role of ROLES) {
        const allowed = roleAllows(role as Role, op.permission as Permission);
        // The canonical spelling reaches the route: 403 exactly when the role may not (else 400/404/409...).
        const canonical = await send(op.method, path, role);
        if (canonical === 401 || (canonical === 403) !== !allowed) wrong.push(`${role} ${op.method} ${op.template} -> ${canonical}`);
        for (const spelled of spellings(path)) {
          const status = await send(op.method, spelled, role);
          if (status === 401 || (allowed && status === 403) || (!allowed && status !== 403 && !SILENT.includes(status))) {
            wrong.push(`${role} ${op.method} ${spelled} -> ${status}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});

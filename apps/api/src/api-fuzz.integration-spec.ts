import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import request from 'supertest';
import { createLogger } from '@pbx/observability';
import { amqpNamespace, deleteAmqpNamespace, migratedDatabase, testEnv } from '@pbx/testing';
import { createApiApp } from './api-app';

const ADMIN = `admin-${randomUUID()}`;
const V1 = '/api/v1';

/**
 * Thousands of generated malformed bodies through HTTP: every one is refused with a 4xx
 * problem (never a 5xx), and not a single row is written.
 */
describe('api fuzz: malformed bodies (real Postgres + RabbitMQ)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let ns: string;
  let app: INestApplication;
  let base: string;
  let existingId: string;

  const valid = () => ({
    name: `Fuzz ${randomUUID()}`,
    reportTo: 'ops@example.com',
    interval: 'daily',
    startAt: '2026-12-01T02:30:00',
    timezone: 'Europe/Berlin',
    data: { coreData: true, cdrAndVoicemails: false, announcements: false },
    destinations: [{ type: 'local' }],
  });

  const snapshot = async () =>
    (
      await db.dataSource.query(
        `SELECT (SELECT count(*) FROM configurations)::int AS c, (SELECT count(*) FROM destinations)::int AS d, (SELECT count(*) FROM runs)::int AS r,
                (SELECT count(*) FROM outbox)::int AS o, (SELECT max(updated_at) FROM configurations) AS u`,
      )
    )[0];

  beforeAll(async () => {
    db = await migratedDatabase('apifuzz');
    ns = amqpNamespace();
    const env = testEnv({
      DATABASE_SCHEMA: db.schema,
      AMQP_NAMESPACE: ns,
      ADMIN_API_TOKEN: ADMIN,
      SECRETS_KEY: 'b2'.repeat(32),
      DEFAULT_TIMEZONE: 'UTC',
    });
    app = await createApiApp(env, createLogger({ service: 'api', level: 'silent' }));
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const created = await request(base).post(`${V1}/backup-configurations`).set('Authorization', `Bearer ${ADMIN}`).send(valid());
    expect(created.status).toBe(201);
    existingId = created.body.configuration.id;
  });

  afterAll(async () => {
    await app?.close();
    await deleteAmqpNamespace(ns);
    await db?.close();
  });

  // Values that are wrong for every field of the given kind.
  const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }));
  const notAnObject = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }));
  const notAnArray = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }));
  const KNOWN = ['name', 'reportTo', 'interval', 'startAt', 'timezone', 'data', 'destinations', 'keepLast', 'notifyOnSuccess', 'language', 'action'];
  const unknownKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !KNOWN.includes(k) && k !== '__proto__');
  const badString = fc.oneof(
    notAString,
    fc.constant(''),
    fc.string({ minLength: 1, maxLength: 8 }).map((s) => `${s}\u0000`),
    fc.string({ minLength: 300, maxLength: 400 }),
  );
  const randomDestination = fc.oneof(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).filter((d) => !('type' in d)),
    fc.record({ type: fc.constantFrom('local', 'smb', 'sftp', 'dropbox', 'usb', 'email') }, { requiredKeys: ['type'] }).chain((d) =>
      fc.record({ extra: fc.jsonValue({ maxDepth: 2 }) }).map((x) => ({ ...d, [`x_${Object.keys(x).length}`]: x.extra })),
    ),
    notAnObject,
  );

  /** A valid body with at least one thing certainly wrong, plus random noise on other fields. */
  const malformedCreate = fc.oneof(
    fc.record({ field: fc.constantFrom('name', 'reportTo', 'interval', 'startAt', 'timezone', 'language', 'action'), value: badString }).map(({ field, value }) => ({ ...valid(), [field]: value })),
    notAnObject.map((value) => ({ ...valid(), data: value })),
    notAnArray.map((value) => ({ ...valid(), destinations: value })),
    fc.array(randomDestination, { minLength: 1, maxLength: 4 }).map((destinations) => ({ ...valid(), destinations })),
    fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => ({ ...valid(), [k]: v })),
    fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.string(), fc.integer({ min: 1001 })).map((keepLast) => ({ ...valid(), keepLast })),
    fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
  );

  /** A PATCH body with one certainly-wrong field. */
  const malformedPatch = fc.oneof(
    fc.record({ field: fc.constantFrom('name', 'reportTo', 'interval', 'startAt', 'timezone', 'language'), value: badString }).map(({ field, value }) => ({ [field]: value })),
    notAnObject.map((data) => ({ data })),
    notAnArray.map((destinations) => ({ destinations })),
    fc.array(randomDestination, { minLength: 1, maxLength: 3 }).map((destinations) => ({ destinations })),
    fc.jsonValue({ maxDepth: 2 }).map((action) => ({ action })),
    fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => ({ [k]: v })),
    fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  );

  const rawText = fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1) || '{'));

  const send = (method: 'post' | 'patch', path: string, payload: unknown, raw = false) => {
    const t = request(base)[method](path).set('Authorization', `Bearer ${ADMIN}`).set('Content-Type', 'application/json');
    return t.send(raw ? (payload as string) : JSON.stringify(payload));
  };

  const expectRefused = (status: number, body: unknown, payload: unknown) => {
    if (status < 400 || status >= 500) throw new Error(`status ${status} for ${JSON.stringify(payload).slice(0, 300)}: ${JSON.stringify(body).slice(0, 300)}`);
  };

  it('POST and PATCH refuse ~2000 generated malformed bodies with 4xx problems and write nothing', async () => {
    const before = await snapshot();
    let requests = 0;
    await fc.assert(
      fc.asyncProperty(malformedCreate, async (payload) => {
        const res = await send('post', `${V1}/backup-configurations`, payload);
        requests++;
        expectRefused(res.status, res.body, payload);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
      }),
      { numRuns: 800 },
    );
    await fc.assert(
      fc.asyncProperty(malformedCreate, async (payload) => {
        const res = await send('post', `${V1}/archive-configurations`, payload);
        requests++;
        expectRefused(res.status, res.body, payload);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(malformedPatch, async (payload) => {
        const res = await send('patch', `${V1}/backup-configurations/${existingId}`, payload);
        requests++;
        expectRefused(res.status, res.body, payload);
      }),
      { numRuns: 600 },
    );
    await fc.assert(
      fc.asyncProperty(rawText, fc.constantFrom('post', 'patch') as fc.Arbitrary<'post' | 'patch'>, async (text, method) => {
        const res = await send(method, method === 'post' ? `${V1}/backup-configurations` : `${V1}/backup-configurations/${existingId}`, text, true);
        requests++;
        expectRefused(res.status, res.body, text);
      }),
      { numRuns: 300 },
    );
    expect(requests).toBe(2000);
    expect(await snapshot()).toEqual(before);
  });
});

import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './api.test-helper';

const V1 = '/api/v1';

/**
 * Thousands of generated malformed bodies through HTTP: every one is refused with a 4xx
 * problem (never a 5xx), and not a single row is written.
 */
describe('api fuzz: malformed bodies (real Postgres + RabbitMQ)', () => {
  let api: TestApi;
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
      await api.ds.query(
        `SELECT (SELECT count(*) FROM configurations)::int AS c, (SELECT count(*) FROM destinations)::int AS d, (SELECT count(*) FROM runs)::int AS r,
                (SELECT count(*) FROM outbox)::int AS o, (SELECT max(updated_at) FROM configurations) AS u`,
      )
    )[0];

  beforeAll(async () => {
    // Thousands of requests a minute from one token: the harness lifts that budget.
    api = await startTestApi('apifuzz', { DEFAULT_TIMEZONE: 'UTC' });
    base = api.base;
    const created = await request(base).post(`${V1}/backup-configurations`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(valid());
    expect(created.status).toBe(201);
    existingId = created.body.configuration.id;
  });

  afterAll(async () => {
    await api?.close();
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
    const t = request(base)[method](path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).set('Content-Type', 'application/json');
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

  // ------------------------------------------------------------------------------------------
  // Canonical input: bytes, invisible characters, look-alike names, escaping paths, GET shapes.

  const CONFIGS = `${V1}/backup-configurations`;
  /** Bytes exactly as given: superagent would otherwise serialize a Buffer as a JSON object. */
  const sendBytes = (method: 'post' | 'patch', path: string, bytes: Buffer) =>
    request(base)[method](path)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .set('Content-Type', 'application/json')
      .serialize((raw: unknown) => raw as string)
      .send(bytes);

  const malformedUtf8 = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => Buffer.from(b)).filter((b) => !isUtf8(b));
  const INVISIBLE = ['\u202E', '\u202D', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u061C', '\u2066', '\u2069', '\u{E0001}', '\u0000', '\u001B', '\u0085', '\u2028'];
  const withInvisible = fc
    .tuple(fc.string({ unit: fc.constantFrom('a', 'B', ' ', '-', 'é', '東'), minLength: 1, maxLength: 20 }), fc.constantFrom(...INVISIBLE), fc.nat())
    .map(([text, bad, at]) => `${text.slice(0, at % (text.length + 1))}${bad}${text.slice(at % (text.length + 1))}`);
  const GOOD_SEGMENTS = ['pbx', 'nightly', 'Site A', 'é', '東京'];
  const BAD_SEGMENTS = ['..', '.', '..%2fx', 'a%2Fb', '%5c', '%2e%2e', 'x%00', ' lead', 'trail ', 'x'.repeat(256), '\u00e9'.repeat(128), 'a\u202Eb', 'a\u200Bb', 'a\u0000b'];
  /** A path with at least one certainly-bad segment among good ones. */
  const badSegments = fc
    .tuple(fc.array(fc.constantFrom(...GOOD_SEGMENTS), { maxLength: 3 }), fc.constantFrom(...BAD_SEGMENTS), fc.array(fc.constantFrom(...GOOD_SEGMENTS), { maxLength: 3 }))
    .map(([before, bad, after]) => [...before, bad, ...after].join('/'));
  const SMB = { type: 'smb', server: 'nas', username: 'u', password: 'p', security: 'ntlmv2' };
  const SFTP = { type: 'sftp', host: '127.0.0.1', username: 'u', password: 'p', hostKeyFingerprint: `SHA256:${'A1b2C3d4+/'.repeat(4)}abc` };
  const escapingDestination = fc.oneof(
    badSegments.map((path) => ({ type: 'local', path })),
    fc.constantFrom(...BAD_SEGMENTS).map((device) => ({ type: 'usb', device })),
    badSegments.map((share) => ({ ...SMB, share: `backups/${share}` })),
    badSegments.map((path) => ({ ...SFTP, path: `/${path}` })),
    badSegments.map((path) => ({ type: 'dropbox', refreshToken: 'rt', path: `/${path}` })),
  );
  /** Every spelling that nameKey folds onto the same key. */
  const twinOf = (name: string) =>
    fc.tuple(fc.constantFrom('NFC', 'NFD') as fc.Arbitrary<'NFC' | 'NFD'>, fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length })).map(([form, upper]) =>
      [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('').normalize(form),
    );

  it('canonical input: malformed UTF-8, invisible characters, look-alike names, escaping paths and GET-shaped destinations are 4xx and write nothing', async () => {
    // A configuration with every kind of secret, and one whose name the twins copy.
    const withSecrets = await send('post', CONFIGS, {
      ...valid(),
      destinations: [{ ...SMB, share: 'backups' }, SFTP, { type: 'dropbox', refreshToken: 'rt-fuzz', path: '/PBX' }],
    });
    expect(withSecrets.status).toBe(201);
    const secretsId = withSecrets.body.configuration.id as string;
    const shown = withSecrets.body.configuration.destinations as Array<Record<string, unknown>>;
    const original = `Stra\u00dfe Caf\u00e9 ${randomUUID()}`;
    expect((await send('post', CONFIGS, { ...valid(), name: original })).status).toBe(201);
    // GET-shaped destinations sent back as they are: accepted, secrets kept.
    expect((await send('patch', `${CONFIGS}/${secretsId}`, { destinations: shown })).status).toBe(200);

    const before = await snapshot();
    let requests = 0;
    const refused = async (res: request.Response, payload: unknown) => {
      requests++;
      expectRefused(res.status, res.body, payload);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    };

    await fc.assert(
      fc.asyncProperty(malformedUtf8, fc.constantFrom('name', 'reportTo', 'timezone'), fc.constantFrom('post', 'patch') as fc.Arbitrary<'post' | 'patch'>, async (bytes, field, method) => {
        const [head, tail] = JSON.stringify({ ...valid(), [field]: '@@' }).split('@@');
        const raw = Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]);
        const res = await sendBytes(method, method === 'post' ? CONFIGS : `${CONFIGS}/${existingId}`, raw);
        await refused(res, raw.toString('hex'));
        expect(res.status).toBe(400);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(withInvisible, async (name) => {
        await refused(await send('post', CONFIGS, { ...valid(), name }), name);
        await refused(await send('patch', `${CONFIGS}/${existingId}`, { name }), name);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(twinOf(original), async (name) => {
        const created = await send('post', CONFIGS, { ...valid(), name });
        await refused(created, name);
        expect(created.status).toBe(409);
        await refused(await send('patch', `${CONFIGS}/${existingId}`, { name }), name);
      }),
      { numRuns: 100 },
    );
    await fc.assert(
      fc.asyncProperty(escapingDestination, async (destination) => {
        const res = await send('post', CONFIGS, { ...valid(), destinations: [destination] });
        await refused(res, destination);
        expect(res.status).toBe(400);
        await refused(await send('patch', `${CONFIGS}/${secretsId}`, { destinations: [...shown, destination] }), destination);
      }),
      { numRuns: 200 },
    );
    // GET-shaped destinations with one certainly-wrong change.
    const mutation = fc.oneof(
      fc.record({ flag: fc.constantFrom('hasPassword', 'hasPrivateKey', 'hasRefreshToken'), value: fc.constantFrom(false, 'true', 1, null, '***') }).map(({ flag, value }) => (d: Record<string, unknown>) => ({ ...d, [flag]: value })),
      fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['Password', 'PrivateKey', 'RefreshToken', 'AuthorizationCode'].includes(k)).map((k) => (d: Record<string, unknown>) => ({ ...d, [`has${k}`]: true })),
      fc.uuid().map((id) => (d: Record<string, unknown>) => ({ ...d, id })),
      fc.constantFrom('local', 'usb', 'smb', 'sftp', 'dropbox', 'email').map((type) => (d: Record<string, unknown>) => (d.type === type ? { ...d, id: 'not-a-uuid' } : { ...d, type })),
      badSegments.map((path) => (d: Record<string, unknown>) => (d.type === 'smb' ? { ...d, share: `b/${path}` } : { ...d, path: `/${path}` })),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: shown.length - 1 }), mutation, async (index, change) => {
        const destinations = shown.map((d, i) => (i === index ? change(d) : d));
        await refused(await send('patch', `${CONFIGS}/${secretsId}`, { destinations }), destinations);
      }),
      { numRuns: 200 },
    );
    expect(requests).toBe(150 + 300 + 200 + 400 + 200);
    expect(await snapshot()).toEqual(before);
  });
});

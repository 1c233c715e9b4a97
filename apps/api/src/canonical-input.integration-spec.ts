import request from 'supertest';
import type { DataSource } from 'typeorm';
import { startDropboxFake, uniqueName, type DropboxFake } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './api.test-helper';

const V1 = '/api/v1';
const CONFIGS = `${V1}/backup-configurations`;

/** Canonical input through HTTP: bytes, names, paths and GET-shaped destinations. */
describe('canonical input (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;
  let ds: DataSource;
  let base: string;
  let dropbox: DropboxFake;

  const body = (over: Record<string, unknown> = {}) => ({
    name: uniqueName('Canonical'),
    reportTo: 'ops@example.com',
    interval: 'manual',
    data: { coreData: true, cdrAndVoicemails: false, announcements: false },
    destinations: [{ type: 'local' }],
    ...over,
  });

  const post = (path: string, payload: unknown) => request(base).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(payload as object);
  const patch = (path: string, payload: unknown) => request(base).patch(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(payload as object);
  const get = (path: string) => request(base).get(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  /** Bytes exactly as given: superagent would otherwise serialize the Buffer as a JSON object. */
  const sendBytes = (method: 'post' | 'patch', path: string, bytes: Buffer) =>
    request(base)[method](path)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .set('Content-Type', 'application/json')
      .serialize((raw: unknown) => raw as string)
      .send(bytes);

  const counts = async () =>
    (
      await ds.query(
        `SELECT (SELECT count(*) FROM configurations)::int AS c, (SELECT count(*) FROM destinations)::int AS d,
                (SELECT count(*) FROM runs)::int AS r, (SELECT max(updated_at) FROM configurations) AS u`,
      )
    )[0] as { c: number; d: number; r: number; u: Date | null };

  beforeAll(async () => {
    dropbox = await startDropboxFake();
    api = await startTestApi('canon', { DEFAULT_TIMEZONE: 'UTC', DROPBOX_APP_KEY: dropbox.appKey, DROPBOX_APP_SECRET: dropbox.appSecret, DROPBOX_API_BASE: dropbox.url });
    ({ ds, base } = api);
  });

  afterAll(async () => {
    await api?.close();
    await dropbox?.close();
  });

  describe('malformed UTF-8', () => {
    // Each is invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong "/",
    // an encoded surrogate, a byte that never occurs in UTF-8.
    const BAD_BYTES: Array<[string, number[]]> = [
      ['lone continuation byte', [0x80]],
      ['truncated two-byte sequence', [0xc3]],
      ['overlong "/"', [0xc0, 0xaf]],
      ['encoded surrogate', [0xed, 0xa0, 0x80]],
      ['0xff', [0xff]],
    ];
    const withBytesInName = (bytes: number[]) => {
      const [before, after] = JSON.stringify(body({ name: 'Bad@@name' })).split('@@');
      return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
    };

    it.each(BAD_BYTES)('POST with a %s in the name is 400 problem+json and stores nothing', async (_label, bytes) => {
      const before = await counts();
      const res = await sendBytes('post', CONFIGS, withBytesInName(bytes));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, errors: [{ field: 'body', message: 'must be valid UTF-8' }] });
      expect(await counts()).toEqual(before);
    });

    it('PATCH with malformed UTF-8 is 400 and changes nothing', async () => {
      const created = await post(CONFIGS, body());
      expect(created.status).toBe(201);
      const before = await counts();
      const res = await sendBytes('patch', `${CONFIGS}/${created.body.configuration.id}`, Buffer.concat([Buffer.from('{"name":"x'), Buffer.from([0xfe]), Buffer.from('"}')]));
      expect(res.status).toBe(400);
      expect(await counts()).toEqual(before);
      expect((await get(`${CONFIGS}/${created.body.configuration.id}`)).body.name).toBe(created.body.configuration.name);
    });
  });

  describe('names', () => {
    it.each([
      ['a right-to-left override (U+202E)', 'Nightly \u202Erav.exe'],
      ['a zero-width space (U+200B)', 'Night\u200Bly'],
      ['a zero-width joiner (U+200D)', 'Night\u200Dly'],
      ['a byte order mark (U+FEFF)', 'Night\uFEFFly'],
      ['a bidi isolate (U+2066)', 'Nightly \u2066x\u2069'],
      ['a soft hyphen (U+00AD)', 'Night\u00ADly'],
      ['a line separator (U+2028)', 'Night\u2028ly'],
      ['an unpaired surrogate', 'Night\uD800ly'],
      ['a percent-encoded slash', '..%2fx'],
    ])('a name with %s is 400 on create and on patch, and nothing is stored', async (_label, name) => {
      const created = await post(CONFIGS, body());
      const before = await counts();
      const res = await post(CONFIGS, body({ name }));
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'name' })]));
      const patched = await patch(`${CONFIGS}/${created.body.configuration.id}`, { name });
      expect(patched.status).toBe(400);
      expect(await counts()).toEqual(before);
    });

    it('NFD and NFC spellings are one name: stored NFC, the twin is 409 on create and on patch', async () => {
      const suffix = uniqueName('');
      const nfd = `Cafe\u0301${suffix}`;
      const nfc = `Caf\u00e9${suffix}`;
      const first = await post(CONFIGS, body({ name: nfd }));
      expect(first.status).toBe(201);
      expect(first.body.configuration.name).toBe(nfc);
      const [row] = await ds.query(`SELECT name, name_key FROM configurations WHERE id = $1`, [first.body.configuration.id]);
      expect(row).toEqual({ name: nfc, name_key: nfc.toLowerCase() });
      expect((await post(CONFIGS, body({ name: nfc }))).status).toBe(409);
      expect((await post(CONFIGS, body({ name: nfd.toUpperCase() }))).status).toBe(409);
      const other = await post(CONFIGS, body());
      const before = await counts();
      expect((await patch(`${CONFIGS}/${other.body.configuration.id}`, { name: nfc.toUpperCase() })).status).toBe(409);
      expect(await counts()).toEqual(before);
    });

    it('names equal under case folding are one name ("Straße" and "STRASSE")', async () => {
      const suffix = uniqueName('');
      expect((await post(CONFIGS, body({ name: `Stra\u00dfe${suffix}` }))).status).toBe(201);
      const before = await counts();
      expect((await post(CONFIGS, body({ name: `STRASSE${suffix}`.toUpperCase() }))).status).toBe(409);
      expect(await counts()).toEqual(before);
    });
  });

  describe('paths are judged by segments', () => {
    const sftp = { type: 'sftp', host: '127.0.0.1', username: 'u', password: 'p', hostKeyFingerprint: `SHA256:${'A1b2C3d4+/'.repeat(4)}abc` };
    const smb = { type: 'smb', server: 'nas', username: 'u', password: 'p', security: 'ntlmv2' };
    it.each([
      ['local', { type: 'local', path: '..%2fx' }, 'destinations[0].path'],
      ['local', { type: 'local', path: `pbx/${'x'.repeat(256)}` }, 'destinations[0].path'],
      ['local', { type: 'local', path: 'pbx/ nightly' }, 'destinations[0].path'],
      ['local', { type: 'local', path: 'a/\u202Eb' }, 'destinations[0].path'],
      ['usb', { type: 'usb', device: '..%2F..' }, 'destinations[0].device'],
      ['usb', { type: 'usb', device: 'stick\u200B' }, 'destinations[0].device'],
      ['smb', { ...smb, share: 'backups/..%5cadmin$' }, 'destinations[0].share'],
      ['smb', { ...smb, share: `backups/${'\u00e9'.repeat(128)}` }, 'destinations[0].share'],
      ['sftp', { ...sftp, path: '/srv/%2e%2e/etc' }, 'destinations[0].path'],
      ['sftp', { ...sftp, path: '/srv/backups ' }, 'destinations[0].path'],
      ['dropbox', { type: 'dropbox', refreshToken: 'rt', path: '/PBX/..%2f..' }, 'destinations[0].path'],
      ['dropbox', { type: 'dropbox', refreshToken: 'rt', path: `/${'x'.repeat(300)}` }, 'destinations[0].path'],
    ])('%s %j is 400 naming the field, and nothing is stored', async (_kind, destination, field) => {
      const before = await counts();
      const res = await post(CONFIGS, body({ destinations: [destination] }));
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(await counts()).toEqual(before);
    });
  });

  describe('a destination exactly as GET returned it', () => {
    const FINGERPRINT = `SHA256:${'A1b2C3d4+/'.repeat(4)}abc`;
    const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
    const sealed = async (ids: string[]) =>
      Object.fromEntries(((await ds.query(`SELECT id, secrets FROM destinations WHERE id = ANY($1)`, [ids])) as Array<{ id: string; secrets: unknown }>).map((r) => [r.id, r.secrets]));

    it.each([
      ['smb', () => ({ type: 'smb', server: 'nas', share: 'backups/pbx', username: 'backup', password: 'smb-secret-1', security: 'ntlmv2' }), ['hasPassword']],
      ['sftp with a password', () => ({ type: 'sftp', host: '127.0.0.1', username: 'u', password: 'sftp-secret-1', hostKeyFingerprint: FINGERPRINT }), ['hasPassword']],
      ['sftp with a private key', () => ({ type: 'sftp', host: '127.0.0.1', username: 'u', privateKey: PRIVATE_KEY, hostKeyFingerprint: FINGERPRINT }), ['hasPrivateKey']],
      ['dropbox', () => ({ type: 'dropbox', authorizationCode: dropbox.issueAuthorizationCode(), path: '/PBX' }), ['hasRefreshToken']],
    ])('%s: sent back unchanged in a PATCH, it keeps its stored secrets', async (_kind, destination, flags) => {
      const created = await post(CONFIGS, body({ destinations: [destination()] }));
      expect(created.status).toBe(201);
      const id = created.body.configuration.id as string;
      const shown = (await get(`${CONFIGS}/${id}`)).body.destinations as Array<Record<string, unknown>>;
      for (const flag of flags) expect(shown[0][flag]).toBe(true);
      const before = await sealed(shown.map((d) => d.id as string));

      const res = await patch(`${CONFIGS}/${id}`, { destinations: shown });
      expect(res.status).toBe(200);
      expect(res.body.destinations).toEqual(shown);
      expect(await sealed(shown.map((d) => d.id as string))).toEqual(before);
    });
  });
});

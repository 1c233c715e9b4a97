import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import request from 'supertest';
import { CONNECT_FAILED } from '@pbx/destinations';
import { expectEventually, peerS3Destination, peers, sftpHostKeyFingerprint, uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './api.test-helper';

const V1 = '/api/v1';
const TIMEOUT_MS = 1500;

const boot = (overrides: Record<string, string | number>) => startTestApi('api_dest', overrides);

const sftp = (over: Record<string, unknown> = {}) => ({
  type: 'sftp',
  host: peers.host,
  port: peers.sftp.port,
  username: peers.sftp.username,
  password: peers.sftp.password,
  path: '.',
  ...over,
});

const smb = (over: Record<string, unknown> = {}) => ({
  type: 'smb',
  server: peers.host,
  port: peers.smb.port,
  share: peers.smb.share,
  username: peers.smb.username,
  password: peers.smb.password,
  security: 'ntlmssp',
  ...over,
});

/** The legacy driver (@marsaud/smb2 in a worker process), against the NTLMv1 Samba. */
const legacySmb = (over: Record<string, unknown> = {}) => smb({ driver: 'legacy-smb2', security: 'ntlmv1-legacy', port: peers.smb.legacyPort, ...over });

const configuration = (destinations: unknown[]) => ({
  name: uniqueName('HostKeys'),
  reportTo: 'ops@example.com',
  interval: 'manual',
  data: { coreData: true },
  destinations,
});

/** A TCP listener with a behaviour; tracks open sockets so a test can see them torn down. */
async function listener(onSocket: (s: Socket) => void): Promise<{ port: number; open: Set<Socket>; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server: Server = createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => undefined);
    // Read (and drop) what arrives, so the client's close is noticed.
    s.resume();
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    open,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('destinations: host keys on save, the test endpoint, the host allowlist (real sshd)', () => {
  let api: TestApi;
  const post = (path: string, body: unknown) => request(api.base).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body as object);
  const patch = (path: string, body: unknown) => request(api.base).patch(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body as object);
  const configCount = async () => (await api.ds.query('SELECT count(*)::int AS n FROM configurations'))[0].n as number;

  beforeAll(async () => {
    api = await boot({ DESTINATION_TEST_TIMEOUT_MS: TIMEOUT_MS, DESTINATION_TESTS_PER_TOKEN: 4 });
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('SFTP host keys when saving', () => {
    it('without a fingerprint: 422 host_key_unconfirmed with the presented fingerprint; sent back, it is accepted', async () => {
      const fingerprint = sftpHostKeyFingerprint();
      const before = await configCount();
      const refused = await post(`${V1}/backup-configurations`, configuration([{ type: 'local' }, sftp()]));
      expect(refused.status).toBe(422);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.body).toMatchObject({ status: 422, code: 'host_key_unconfirmed', hostKeyFingerprint: fingerprint });
      expect(refused.body.detail).toContain(fingerprint);
      expect(refused.body.errors).toEqual([{ field: 'destinations[1].hostKeyFingerprint', message: expect.any(String) }]);
      expect(await configCount()).toBe(before);

      const accepted = await post(`${V1}/backup-configurations`, configuration([{ type: 'local' }, sftp({ hostKeyFingerprint: refused.body.hostKeyFingerprint })]));
      expect(accepted.status).toBe(201);
      expect(accepted.body.configuration.destinations[1].hostKeyFingerprint).toBe(fingerprint);
    });

    it('PATCH and add destination refuse an unconfirmed key the same way', async () => {
      const created = await post(`${V1}/backup-configurations`, configuration([{ type: 'local' }]));
      const id = created.body.configuration.id as string;
      const added = await post(`${V1}/backup-configurations/${id}/destinations`, sftp());
      expect(added.status).toBe(422);
      expect(added.body).toMatchObject({ code: 'host_key_unconfirmed', hostKeyFingerprint: sftpHostKeyFingerprint() });
      expect(added.body.errors[0].field).toBe('hostKeyFingerprint');
      const patched = await patch(`${V1}/backup-configurations/${id}`, { destinations: [{ type: 'local' }, sftp()] });
      expect(patched.status).toBe(422);
      expect(patched.body).toMatchObject({ code: 'host_key_unconfirmed', hostKeyFingerprint: sftpHostKeyFingerprint() });
      const [row] = await api.ds.query('SELECT count(*)::int AS n FROM destinations WHERE configuration_id = $1 AND removed_at IS NULL', [id]);
      expect(row.n).toBe(1);
    });

    it('trustOnFirstUse: true pins the presented key (trustOnFirstUse not stored) and a test then succeeds', async () => {
      const created = await post(`${V1}/backup-configurations`, configuration([sftp({ trustOnFirstUse: true })]));
      expect(created.status).toBe(201);
      const d = created.body.configuration.destinations[0];
      expect(d.hostKeyFingerprint).toBe(sftpHostKeyFingerprint());
      expect(d.trustOnFirstUse).toBeUndefined();
      const [stored] = await api.ds.query('SELECT settings FROM destinations WHERE id = $1', [d.id]);
      expect(stored.settings).toMatchObject({ hostKeyFingerprint: sftpHostKeyFingerprint() });
      expect(stored.settings.trustOnFirstUse).toBeUndefined();
      const tested = await post(`${V1}/destinations/test`, { configurationId: created.body.configuration.id, destinationId: d.id });
      expect(tested.status).toBe(200);
      expect(tested.body).toMatchObject({ ok: true, hostKeyFingerprint: sftpHostKeyFingerprint() });

      const id = created.body.configuration.id as string;
      const added = await post(`${V1}/backup-configurations/${id}/destinations`, sftp({ trustOnFirstUse: true }));
      expect(added.body).toMatchObject({ hostKeyFingerprint: sftpHostKeyFingerprint() });
      expect(added.status).toBe(201);

      // Each pin is in the audit trail, as the caller who saved it, with what was trusted.
      const pins = await api.ds.query(
        `SELECT token_name, target_id, outcome, detail FROM audit_events WHERE action = 'destination.host-key-pin' AND detail->>'configurationId' = $1 ORDER BY at`,
        [id],
      );
      expect(pins).toEqual(
        [d.id, added.body.id].map((destinationId) => ({
          token_name: 'admin',
          target_id: destinationId,
          outcome: 'ok',
          detail: { configurationId: id, host: '127.0.0.1', port: expect.any(Number), fingerprint: sftpHostKeyFingerprint() },
        })),
      );
    });

    it('a server that cannot be reached at save time: 422 with the one connection-failure message, nothing saved', async () => {
      const closed = await listener(() => undefined);
      await closed.close();
      const before = await configCount();
      const res = await post(`${V1}/backup-configurations`, configuration([sftp({ port: closed.port, trustOnFirstUse: true })]));
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'destination_unreachable', errors: [{ field: 'destinations[0].host', message: expect.any(String) }] });
      expect(res.body.detail).toContain(CONNECT_FAILED);
      expect(await configCount()).toBe(before);
    });
  });

  describe('POST /destinations/test is not a port scanner', () => {
    it('refused, silent, reset and HTTP answer identically; the silent connection is torn down at the time limit', async () => {
      const refused = await listener(() => undefined);
      await refused.close();
      const silent = await listener(() => undefined);
      const reset = await listener((s) => s.resetAndDestroy());
      const http = createHttpServer((_req, res) => res.end('hello'));
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      const httpPort = (http.address() as AddressInfo).port;
      try {
        const answers: Record<string, unknown> = {};
        for (const pinned of [undefined, sftpHostKeyFingerprint()]) {
          for (const [name, port] of [['refused', refused.port], ['silent', silent.port], ['reset', reset.port], ['http', httpPort]] as const) {
            const res = await post(`${V1}/destinations/test`, { destination: sftp({ port, hostKeyFingerprint: pinned }) });
            expect(res.status).toBe(200);
            answers[`${name}${pinned ? ' pinned' : ''}`] = res.body;
          }
        }
        const expected = { ok: false, code: 'mountfail', steps: [{ step: 'connect', ok: false, detail: CONNECT_FAILED }] };
        expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((k) => [k, expected])));
        await expectEventually(async () => silent.open.size === 0 || null);
      } finally {
        await silent.close();
        await reset.close();
        await new Promise((r) => http.close(r));
      }
    });

    it('SMB (smbclient and the legacy driver) answers refused, silent, reset and HTTP exactly as SFTP does; the silent connection is torn down at the time limit', async () => {
      const refused = await listener(() => undefined);
      await refused.close();
      const silent = await listener(() => undefined);
      const reset = await listener((s) => s.resetAndDestroy());
      const http = createHttpServer((_req, res) => res.end('hello'));
      await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
      const httpPort = (http.address() as AddressInfo).port;
      const kinds = { sftp: (port: number) => sftp({ port, hostKeyFingerprint: sftpHostKeyFingerprint() }), smbclient: (port: number) => smb({ port }), legacy: (port: number) => legacySmb({ port }) };
      try {
        const answers: Record<string, unknown> = {};
        for (const [kind, destination] of Object.entries(kinds)) {
          for (const [name, port] of [['refused', refused.port], ['silent', silent.port], ['reset', reset.port], ['http', httpPort]] as const) {
            const started = Date.now();
            const res = await post(`${V1}/destinations/test`, { destination: destination(port) });
            expect(res.status).toBe(200);
            answers[`${kind} ${name}`] = res.body;
            if (name === 'silent') {
              // The answer comes at the limit, and whatever the test started (socket, smbclient, worker) is gone with it.
              expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
              expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
              await expectEventually(async () => silent.open.size === 0 || null, { timeoutMs: 1000, message: `${kind}: the silent connection is still open after the time limit` });
            }
          }
        }
        const expected = { ok: false, code: 'mountfail', steps: [{ step: 'connect', ok: false, detail: CONNECT_FAILED }] };
        expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((k) => [k, expected])));
      } finally {
        await silent.close();
        await reset.close();
        await new Promise((r) => http.close(r));
      }
    });

    it('a real SMB server still passes the test, and a wrong password stays authFailed (not a connection failure)', async () => {
      for (const destination of [smb(), legacySmb()]) {
        const ok = await post(`${V1}/destinations/test`, { destination });
        expect(ok.body).toMatchObject({ ok: true });
        const wrong = await post(`${V1}/destinations/test`, { destination: { ...destination, password: 'wrong-password' } });
        expect(wrong.body).toMatchObject({ ok: false, code: 'authFailed' });
        expect(JSON.stringify(wrong.body)).not.toContain(CONNECT_FAILED);
      }
    });

    it(`at most 4 tests in flight per token: the 5th is 429 with Retry-After`, async () => {
      const silent = await listener(() => undefined);
      try {
        const body = { destination: sftp({ port: silent.port }) };
        const first = [1, 2, 3, 4].map(() => post(`${V1}/destinations/test`, body).then((r) => r));
        await expectEventually(async () => silent.open.size === 4 || null);
        const fifth = await post(`${V1}/destinations/test`, body);
        expect(fifth.status).toBe(429);
        expect(fifth.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(fifth.headers['retry-after']).toBe(String(Math.ceil(TIMEOUT_MS / 1000)));
        expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
        // The slots are free again.
        expect((await post(`${V1}/destinations/test`, { destination: { type: 'local', path: 'probe' } })).status).toBe(200);
      } finally {
        await silent.close();
      }
    });
  });

  describe('DESTINATION_HOSTS_ALLOWED', () => {
    let limited: TestApi;
    const postTo = (path: string, body: unknown) => request(limited.base).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body as object);

    beforeAll(async () => {
      limited = await boot({ DESTINATION_HOSTS_ALLOWED: '10.0.0.0/8, fd00::/8, NAS.example.com' });
    });

    afterAll(async () => {
      await limited?.close();
    });

    it('refuses saving and testing a destination outside the list (400 naming the field), before connecting', async () => {
      const saved = await postTo(`${V1}/backup-configurations`, configuration([{ type: 'local' }, sftp({ hostKeyFingerprint: sftpHostKeyFingerprint() }), { type: 'smb', server: 'localhost', share: 'backup', username: 'u', password: 'p', security: 'ntlmssp' }, peerS3Destination('hosts')]));
      expect(saved.status).toBe(400);
      expect(saved.body.errors).toEqual([
        { field: 'destinations[1].host', message: 'is not in DESTINATION_HOSTS_ALLOWED' },
        { field: 'destinations[2].server', message: 'is not in DESTINATION_HOSTS_ALLOWED' },
        // s3: the endpoint URL's host is judged.
        { field: 'destinations[3].endpoint', message: 'is not in DESTINATION_HOSTS_ALLOWED' },
      ]);
      const tested = await postTo(`${V1}/destinations/test`, { destination: sftp() });
      expect(tested.status).toBe(400);
      expect(tested.body.errors).toEqual([{ field: 'destination.host', message: 'is not in DESTINATION_HOSTS_ALLOWED' }]);
      const testedS3 = await postTo(`${V1}/destinations/test`, { destination: peerS3Destination('hosts') });
      expect(testedS3.body.errors).toEqual([{ field: 'destination.endpoint', message: 'is not in DESTINATION_HOSTS_ALLOWED' }]);
    });

    it('a stored destination outside the list is not tested either', async () => {
      const [c] = await limited.ds.query(
        `INSERT INTO configurations (kind, name, name_key, report_to, interval, timezone, data, notify_on_success, language)
         VALUES ('backup', $1, $2, 'ops@example.com', 'manual', 'UTC', '{"coreData":true}', false, 'en') RETURNING id`,
        ['Stored', `stored-${randomUUID()}`],
      );
      const [d] = await limited.ds.query(`INSERT INTO destinations (configuration_id, position, type, settings, secrets) VALUES ($1, 0, 'sftp', $2, '{}') RETURNING id`, [
        c.id,
        JSON.stringify({ host: '127.0.0.1', port: peers.sftp.port, username: 'u', path: '.', hostKeyFingerprint: sftpHostKeyFingerprint() }),
      ]);
      const tested = await postTo(`${V1}/destinations/test`, { configurationId: c.id, destinationId: d.id });
      expect(tested.status).toBe(400);
      expect(tested.body.errors).toEqual([{ field: 'host', message: 'is not in DESTINATION_HOSTS_ALLOWED' }]);
    });

    it('addresses inside a listed CIDR and listed names (any case) pass the check', async () => {
      // Nothing answers there: the save gets as far as the host-key probe, which is refused alike.
      const res = await postTo(`${V1}/backup-configurations`, configuration([sftp({ host: 'nas.EXAMPLE.com', trustOnFirstUse: true })]));
      expect(res.body).toMatchObject({ code: 'destination_unreachable' });
      const local = await postTo(`${V1}/destinations/test`, { destination: { type: 'local', path: 'probe' } });
      expect(local.status).toBe(200);
    });
  });
});

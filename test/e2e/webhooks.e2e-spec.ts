/**
 * Webhooks through the public API and the five built apps: a configuration with a signed json
 * webhook whose run fails reaches a local HTTP receiver once, signed; the GET shows the webhook
 * without its secret.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedPbx } from '@pbx/pbx-source';
import { expectEventually, testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

describe('webhooks end to end', () => {
  let e: E2eEnv;
  let server: Server;
  const received: { path: string; headers: IncomingHttpHeaders; raw: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    e = await createE2eEnv('hook', { WEBHOOK_HOSTS_ALLOWED: '127.0.0.1/32' });
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 2, cdr: 20, voicemails: 1, announcements: 0, minAudioBytes: 1000, maxAudioBytes: 2000 });
    await e.start();
  });

  afterAll(async () => {
    await e?.teardown();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  });

  it('configuration with a webhook → failing run → the webhook is called once, signed; GET omits the secret', async () => {
    const secret = `whsec-${randomBytes(12).toString('hex')}`;
    const port = (server.address() as AddressInfo).port;
    const path = `/hook/${randomBytes(6).toString('hex')}`;
    const refused = await e.api.request<{ errors: { field: string; message: string }[] }>('POST', '/api/v1/backup-configurations', {
      name: `Hook refused ${randomBytes(3).toString('hex')}`, reportTo: 'ops@example.com', interval: 'manual', data: { coreData: true },
      destinations: [{ type: 'local' }], webhooks: [{ url: 'https://hooks.example.com/x' }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ field: 'webhooks[0].url', message: 'names a host that is not in WEBHOOK_HOSTS_ALLOWED' }]);

    const res = await e.api.request<{ configuration: { id: string; webhooks: unknown[] }; run: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name: `Hook ${randomBytes(3).toString('hex')}`,
      reportTo: 'ops@example.com',
      interval: 'manual',
      data: { coreData: true },
      // No such USB volume (USB_ALLOW_UNMOUNTED is off): the delivery and so the run fail.
      destinations: [{ type: 'usb', device: 'missing-stick' }],
      webhooks: [{ url: `http://127.0.0.1:${port}${path}`, secret }],
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    const shown = res.body.configuration.webhooks;
    expect(shown).toEqual([{ id: expect.any(String), url: `http://127.0.0.1:${port}${path}`, format: 'json', events: ['failure', 'staleness'], hasSecret: true }]);
    const got = await e.api.request<{ webhooks: unknown[] }>('GET', `/api/v1/backup-configurations/${res.body.configuration.id}`);
    expect(got.body.webhooks).toEqual(shown);
    expect(JSON.stringify(got.body)).not.toContain(secret);

    const [call] = await expectEventually(() => (received.some((r) => r.path === path) ? received.filter((r) => r.path === path) : null), { timeoutMs: 90_000, intervalMs: 250, message: 'the webhook was not called' });
    const run = await e.api.request<{ status: string }>('GET', `/api/v1/runs/${res.body.run.id}`);
    expect(run.body.status).toBe('failed');
    expect(call.headers['x-pbx-backup-signature']).toBe(`sha256=${createHmac('sha256', secret).update(call.raw).digest('hex')}`);
    const body = JSON.parse(call.raw);
    expect(body).toMatchObject({ event: 'failure', type: 'backup.failed', run: { id: res.body.run.id, status: 'failed' }, configuration: { id: res.body.configuration.id } });
    expect(Math.abs(Date.now() / 1000 - body.timestamp)).toBeLessThan(300);
    expect(received.filter((r) => r.path === path)).toHaveLength(1);
  });
});

import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Envelope, WebhookEvent, WebhookFormat } from '@pbx/contracts';
import { HostAllowlist } from '@pbx/destinations';
import { AmqpConnection, createEnvelope, DeadLetterRecorder, MessagePublisher, republishDeadLetter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { ConfigurationEntity, RunEntity, snapshotOf, type Language } from '@pbx/persistence';
import { SecretBox } from '@pbx/secrets';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, uniqueName } from '@pbx/testing';
import { notifierTestBed, PUBLIC_URL } from './notifier.test-helper';
import { StalenessService, STALENESS_WEBHOOK_RETRY_MS } from './staleness.service';
import { WebhookAdapter } from './webhook.adapter';

const logger = createLogger({ service: 'notifier-webhook-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SECRETS_KEY = 'd4'.repeat(32);
const box = new SecretBox(SECRETS_KEY);
/** A Slack-like URL whose path is its credential: it must never reach a log line or a dead letter. */
const PATH_TOKEN = `T000-B000-${randomUUID()}`;

// ---------------------------------------------------------------------------------------------
// The receiver: node:http on loopback, recording every request; each path answers from its script.

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
}
type Behaviour = 'ok' | '500' | 'hang' | 'redirect' | 'long500';

class Receiver {
  readonly requests: Received[] = [];
  private readonly scripts = new Map<string, Behaviour[]>();
  private server!: Server;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.requests.push({ path, headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
        const script = this.scripts.get(path.split('?')[0]) ?? [];
        const behaviour = script.length > 1 ? script.shift()! : (script[0] ?? 'ok');
        if (behaviour === 'hang') {
          this.hanging.add(res);
          return;
        }
        if (behaviour === 'redirect') return void res.writeHead(302, { location: `http://127.0.0.1:${this.port}/elsewhere` }).end();
        if (behaviour === '500') return void res.writeHead(500).end('internal error');
        if (behaviour === 'long500') return void res.writeHead(500).end(`${'x'.repeat(10_000)}ECHO-OF-THE-BODY`);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** A fresh path with the given answers in turn (the last one repeats). */
  path(...behaviours: Behaviour[]): string {
    const path = `/hooks/${randomUUID()}/${PATH_TOKEN}`;
    this.scripts.set(path, behaviours.length ? behaviours : ['ok']);
    return path;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  to(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------

const receiver = new Receiver();
const bed = notifierTestBed('webhooks', { logger, env: { SECRETS_KEY, WEBHOOK_TIMEOUT_MS: '400' } });
const { inboxHas } = bed;

beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
});

interface Hook {
  url: string;
  format?: WebhookFormat;
  events?: WebhookEvent[];
  secret?: string;
}

async function seed(opts: { hooks: Hook[]; status?: RunEntity['status']; language?: Language; notifyOnSuccess?: boolean }): Promise<{ configuration: ConfigurationEntity; run: RunEntity; ids: string[] }> {
  const m = bed.db.dataSource.manager;
  const webhooks = opts.hooks.map((h) => ({ id: randomUUID(), url: h.url, format: h.format ?? 'json', events: h.events ?? ['failure', 'staleness'] }));
  const webhookSecrets = Object.fromEntries(opts.hooks.flatMap((h, i) => (h.secret ? [[webhooks[i].id, box.seal(h.secret)]] : [])));
  const configuration = await m.save(
    m.create(ConfigurationEntity, {
      kind: 'backup',
      name: uniqueName('Nightly'),
      nameKey: uniqueName('k'),
      reportTo: `${uniqueName('wh').toLowerCase()}@reports.example.test`,
      interval: 'daily',
      startAt: '03:00',
      timezone: 'UTC',
      data: { coreData: true, cdrAndVoicemails: false, announcements: false },
      keepLast: 5,
      notifyOnSuccess: opts.notifyOnSuccess ?? false,
      language: opts.language ?? 'en',
      webhooks,
      webhookSecrets,
    }),
  );
  const run = await m.save(
    m.create(RunEntity, {
      kind: 'backup',
      configurationId: configuration.id,
      configurationName: configuration.name,
      trigger: 'manual',
      catchUp: false,
      status: opts.status ?? 'failed',
      startedAt: new Date('2030-01-01T03:00:02Z'),
      finishedAt: new Date('2030-01-01T03:04:10Z'),
      deferrals: [],
      snapshot: snapshotOf(configuration, []),
    }),
  );
  return { configuration, run, ids: webhooks.map((w) => w.id) };
}

const failed = (runId: string) => createEnvelope('backup.failed', { runId, status: 'failed', step: 'packing', error: 'PBX database unreachable (ECONNREFUSED)' }, runId);

/** What a receiver does with a json webhook: HMAC of the raw body, compared in constant time, and the signed timestamp within 5 minutes. */
function verify(raw: string, headers: IncomingHttpHeaders, secret: string, nowS = Date.now() / 1000): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(String(headers['x-pbx-backup-signature'] ?? ''));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  const { timestamp } = JSON.parse(raw) as { timestamp: number };
  return String(timestamp) === headers['x-pbx-backup-timestamp'] && Math.abs(nowS - timestamp) <= 300;
}

describe('webhooks (local HTTP receiver, Postgres, RabbitMQ)', () => {
  const notifier = bed.running();

  /** A message that calls no webhook, handled: with prefetch 1 everything published before it was handled too. */
  async function drain(): Promise<void> {
    const { run } = await seed({ hooks: [], status: 'succeeded' });
    const env = createEnvelope('backup.succeeded', { runId: run.id }, run.id);
    await notifier.publisher.publish(env);
    await expectEventually(() => inboxHas(env.messageId));
  }

  it('json: a failure is POSTed once, signed (the signature verifies), even when the event comes twice', async () => {
    const secret = `whsec-${randomUUID()}`;
    const signed = receiver.path();
    const successOnly = receiver.path();
    const { configuration, run, ids } = await seed({ hooks: [{ url: receiver.url(signed), secret }, { url: receiver.url(successOnly), events: ['success'] }] });
    const env = failed(run.id);
    await notifier.publisher.publish(env);
    await notifier.publisher.publish(env); // a redelivery
    await notifier.publisher.publish({ ...env, messageId: randomUUID() } as Envelope); // a second event for the same run and kind
    await expectEventually(() => receiver.to(signed).length > 0);
    await drain();
    const calls = receiver.to(signed);
    expect(calls).toHaveLength(1);
    expect(receiver.to(successOnly)).toHaveLength(0);

    const [{ raw, headers }] = calls;
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(verify(raw, headers, secret)).toBe(true);
    expect(verify(raw, headers, 'another-secret-of-16+')).toBe(false);
    expect(verify(raw.replace('ECONNREFUSED', 'ECONNRESET!!'), headers, secret)).toBe(false); // a changed body
    expect(verify(raw, headers, secret, Date.now() / 1000 + 600)).toBe(false); // replayed 10 minutes later
    const body = JSON.parse(raw);
    expect(body).toMatchObject({
      event: 'failure',
      type: 'backup.failed',
      language: 'en',
      configuration: { id: configuration.id, name: configuration.name },
      run: { id: run.id, kind: 'backup', status: 'failed' },
      link: `${PUBLIC_URL}/api/v1/runs/${run.id}`,
    });
    expect(body.id).toBe(headers['x-pbx-backup-delivery']);
    expect(body.subject).toContain('FAILED');
    expect(body.text).toContain('PBX database unreachable (ECONNREFUSED)'); // the mail's own text
    expect(raw).not.toContain(secret);
    const rows: { kind: string; recipient: string; sent_at: Date | null }[] = await bed.db.dataSource.query('SELECT kind, recipient, sent_at FROM notifications WHERE subject_id = $1', [body.id]);
    expect(rows).toEqual([{ kind: 'backup.failed', recipient: `http://127.0.0.1:${receiver.port}`, sent_at: expect.any(Date) }]);
    expect(ids).toHaveLength(2);
  });

  it('slack and teams: a success (mails off) in German, shaped for each tool', async () => {
    const slack = receiver.path();
    const teams = receiver.path();
    const failureOnly = receiver.path();
    const { run, configuration } = await seed({
      status: 'succeeded',
      language: 'de',
      hooks: [
        { url: receiver.url(slack), format: 'slack', events: ['success'] },
        { url: receiver.url(teams), format: 'teams', events: ['failure', 'success'], secret: `teams-${randomUUID()}` },
        { url: receiver.url(failureOnly) },
      ],
    });
    await notifier.publisher.publish(createEnvelope('backup.succeeded', { runId: run.id }, run.id));
    await expectEventually(() => receiver.to(slack).length > 0 && receiver.to(teams).length > 0);
    await drain();
    expect(receiver.to(failureOnly)).toHaveLength(0);

    const s = JSON.parse(receiver.to(slack)[0].raw);
    expect(s.text).toBe(`[TK-Anlagen-Sicherung] erfolgreich: "${configuration.name}" (${run.id.slice(0, 8)})`);
    expect(s.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: s.text, emoji: false } });
    const fields = s.blocks.filter((b: { fields?: unknown[] }) => b.fields).flatMap((b: { fields: { type: string; text: string }[] }) => b.fields);
    expect(fields).toContainEqual({ type: 'mrkdwn', text: `*Konfiguration*\n${configuration.name}` });
    expect(s.blocks).toContainEqual({ type: 'section', text: { type: 'mrkdwn', text: `<${PUBLIC_URL}/api/v1/runs/${run.id}|Details zu diesem Lauf (API)>` } });
    expect(receiver.to(slack)[0].headers['x-pbx-backup-signature']).toBeUndefined(); // no secret, no signature

    const t = JSON.parse(receiver.to(teams)[0].raw);
    expect(t.type).toBe('message');
    expect(t.attachments).toHaveLength(1);
    expect(t.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = t.attachments[0].content;
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: s.text, color: 'Good' });
    expect(card.body.find((b: { type: string }) => b.type === 'FactSet').facts).toContainEqual({ title: 'Konfiguration', value: configuration.name });
    expect(card.actions).toEqual([expect.objectContaining({ type: 'Action.OpenUrl', url: `${PUBLIC_URL}/api/v1/runs/${run.id}` })]);
    expect(receiver.to(teams)[0].headers['x-pbx-backup-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('retries after a 500 and a timeout, then delivers once with the same delivery id', async () => {
    const flaky = receiver.path('500', 'hang', 'ok');
    const { run } = await seed({ hooks: [{ url: receiver.url(flaky), secret: `flaky-${randomUUID()}` }] });
    const env = failed(run.id);
    await notifier.publisher.publish(env);
    await expectEventually(() => inboxHas(env.messageId), { timeoutMs: 20_000 });
    const calls = receiver.to(flaky);
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.headers['x-pbx-backup-delivery'])).size).toBe(1);
    const [{ n }] = await bed.db.dataSource.query('SELECT count(*)::int AS n FROM notifications WHERE subject_id = $1 AND sent_at IS NOT NULL', [calls[0].headers['x-pbx-backup-delivery']]);
    expect(n).toBe(1);
  });

  it('calls a stale configuration\'s webhooks once per stale period', async () => {
    const hook = receiver.path();
    const other = receiver.path();
    const { configuration } = await seed({ hooks: [{ url: receiver.url(hook), format: 'slack' }, { url: receiver.url(other), events: ['failure'] }] });
    await bed.db.dataSource.query(`UPDATE configurations SET created_at = now() - interval '3 days' WHERE id = $1`, [configuration.id]);
    const staleness = notifier.app.get(StalenessService);
    await staleness.checkOnce();
    await staleness.checkOnce();
    expect(receiver.to(hook)).toHaveLength(1);
    expect(receiver.to(other)).toHaveLength(0);
    expect(JSON.parse(receiver.to(hook)[0].raw).text).toBe(`[PBX backup] "${configuration.name}": no successful run for too long`);
  });

  it('tries a failing staleness webhook again on each check for STALENESS_WEBHOOK_RETRY_MS after the stale period began, then no more', async () => {
    const down = receiver.path('500');
    const { configuration } = await seed({ hooks: [{ url: receiver.url(down) }] });
    await bed.db.dataSource.query(`UPDATE configurations SET created_at = now() - interval '5 days' WHERE id = $1`, [configuration.id]);
    const staleness = notifier.app.get(StalenessService);
    await staleness.checkOnce(); // the mail goes (stale_alerted_at = now), the call fails
    await staleness.checkOnce();
    expect(receiver.to(down)).toHaveLength(2);
    const alertedAgo = (ms: number) =>
      bed.db.dataSource.query(`UPDATE configurations SET stale_alerted_at = now() - $2::bigint * interval '1 millisecond' WHERE id = $1`, [configuration.id, ms]);
    await alertedAgo(STALENESS_WEBHOOK_RETRY_MS - 60_000);
    await staleness.checkOnce();
    expect(receiver.to(down)).toHaveLength(3);
    await alertedAgo(STALENESS_WEBHOOK_RETRY_MS + 60_000);
    await staleness.checkOnce();
    await staleness.checkOnce();
    expect(receiver.to(down)).toHaveLength(3);
  });
});

describe('webhooks that keep failing', () => {
  it('dead-letter the event after the budget (no path, no full answer in the reason); a replay after the fix calls once; redirects are not followed', async () => {
    const namespace = amqpNamespace();
    const down = receiver.path('long500');
    const redirect = receiver.path('redirect');
    const { run } = await seed({ hooks: [{ url: receiver.url(down) }, { url: receiver.url(redirect) }] });
    let app: INestApplication | undefined = await bed.boot(bed.env(namespace, { AMQP_MAX_ATTEMPTS: '2', AMQP_RETRY_DELAY_MS: '100' }));
    const recorder = new DeadLetterRecorder(app.get(AmqpConnection), bed.db.dataSource, logger);
    try {
      await recorder.start();
      const env = failed(run.id);
      await new MessagePublisher(app.get(AmqpConnection)).publish(env);
      const { letter, replay } = await bed.deadLetter(env.messageId, { timeoutMs: 20_000 });
      expect(letter.attempts).toBe(2);
      expect(letter.reason).toContain(`webhook http://127.0.0.1:${receiver.port}: answered 500: xxx`);
      expect(letter.reason).toContain('answered 302 (a redirect; webhooks follow none');
      expect(letter.reason).not.toContain(PATH_TOKEN);
      expect(letter.reason).not.toContain('ECHO-OF-THE-BODY');
      expect(letter.reason.length).toBeLessThan(1000);
      expect(receiver.to(down)).toHaveLength(2);
      expect(receiver.to(redirect)).toHaveLength(2);
      expect(receiver.requests.filter((r) => r.path === '/elsewhere')).toHaveLength(0);
      expect(await inboxHas(env.messageId)).toBe(false);
      await recorder.stop();
      await app.close();

      // Fixed: the receiver answers 200 now; a replay calls each webhook exactly once more, and a second replay nobody.
      await bed.db.dataSource.query(`UPDATE configurations SET webhooks = jsonb_build_array(webhooks -> 0) WHERE id = $1`, [run.configurationId]);
      receiver['scripts'].set(down, ['ok']);
      app = await bed.boot(bed.env(namespace));
      const amqp = app.get(AmqpConnection);
      await republishDeadLetter(amqp, replay);
      await expectEventually(() => inboxHas(env.messageId));
      await republishDeadLetter(amqp, replay);
      const { run: sentinel } = await seed({ hooks: [], status: 'succeeded' });
      const marker = createEnvelope('backup.succeeded', { runId: sentinel.id }, sentinel.id);
      await new MessagePublisher(amqp).publish(marker);
      await expectEventually(() => inboxHas(marker.messageId));
      expect(receiver.to(down)).toHaveLength(3);
    } finally {
      await recorder.stop();
      await app?.close();
      await deleteAmqpNamespace(namespace);
    }
  });
});

describe('WebhookAdapter and WEBHOOK_HOSTS_ALLOWED', () => {
  it('refuses, before connecting, an address or a name that resolves outside the list', async () => {
    const path = receiver.path();
    const fenced = new WebhookAdapter({ timeoutMs: 1000, hosts: HostAllowlist.parse('10.0.0.0/8') });
    const hook = { body: '{}', timestamp: 1, deliveryId: randomUUID() };
    await expect(fenced.send({ ...hook, url: receiver.url(path) })).rejects.toThrow('is not in WEBHOOK_HOSTS_ALLOWED');
    await expect(fenced.send({ ...hook, url: `http://localhost:${receiver.port}${path}` })).rejects.toThrow('is not in WEBHOOK_HOSTS_ALLOWED');
    expect(receiver.to(path)).toHaveLength(0);
    const open = new WebhookAdapter({ timeoutMs: 1000, hosts: HostAllowlist.parse('127.0.0.0/8') });
    await expect(open.send({ ...hook, url: `http://localhost:${receiver.port}${path}` })).resolves.toEqual({ status: 200 });
    expect(receiver.to(path)).toHaveLength(1);
  });
});

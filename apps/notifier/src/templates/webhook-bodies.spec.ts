import { createHmac } from 'node:crypto';
import { webhookOrigin, webhookSignature } from '../webhook.adapter';
import { webhookDeliveryId } from '../webhooks.service';
import { render, type Block } from './document';
import { jsonBody, slackBody, teamsBody, type WebhookFacts } from './webhook-bodies';

const blocks: Block[] = [
  { type: 'heading', text: 'Backup <FAILED> & more' },
  { type: 'paragraph', text: 'A backup run failed.' },
  { type: 'facts', rows: Array.from({ length: 12 }, (_, i) => [`Label ${i}`, `value ${i}`] as const) },
  { type: 'list', items: [{ title: '[SFTP]10.0.0.5:/backups', lines: ['failed', 'the server refused the login'], alert: true }] },
  { type: 'link', label: 'Details', href: 'https://pbx.example.test/api/v1/runs/1' },
];
const report = render('Backup <FAILED> & more', blocks, 'en');
const facts: WebhookFacts = {
  deliveryId: 'd',
  event: 'failure',
  type: 'backup.failed',
  language: 'en',
  configuration: { id: 'c', name: 'Nightly' },
  run: { id: 'r', kind: 'backup', status: 'failed' },
  link: 'https://pbx.example.test/api/v1/runs/1',
  timestamp: 1_700_000_000,
};

describe('webhook bodies', () => {
  it('json carries the facts, the subject and the mail text', () => {
    expect(jsonBody(report, facts)).toEqual({
      id: 'd', event: 'failure', type: 'backup.failed', timestamp: 1_700_000_000, language: 'en', configuration: { id: 'c', name: 'Nightly' },
      run: { id: 'r', kind: 'backup', status: 'failed' }, subject: report.subject, text: report.text, link: facts.link,
    });
  });

  it('slack: header, escaped mrkdwn, at most 10 fields a section, a link', () => {
    const body = slackBody(report) as { text: string; blocks: { type: string; fields?: unknown[]; text?: { text: string } }[] };
    expect(body.text).toBe('Backup <FAILED> & more');
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Backup <FAILED> & more', emoji: false } });
    expect(body.blocks.filter((b) => b.fields).map((b) => b.fields!.length)).toEqual([10, 2]);
    expect(body.blocks.map((b) => b.text?.text)).toContain(':x: *[SFTP]10.0.0.5:/backups*\nfailed\nthe server refused the login');
    expect(body.blocks.at(-1)).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '<https://pbx.example.test/api/v1/runs/1|Details>' } });
    const escaped = slackBody(render('x', [{ type: 'paragraph', text: 'a <b> & c' }], 'en')) as { blocks: { text: { text: string } }[] };
    expect(escaped.blocks[0].text.text).toBe('a &lt;b&gt; &amp; c');
  });

  it('teams: an Adaptive Card with a FactSet, attention colour for a failure, the link as an action', () => {
    const body = teamsBody(report, 'failure') as { attachments: { contentType: string; content: { body: { type: string; color?: string; facts?: unknown[] }[]; actions: unknown[] } }[] };
    const card = body.attachments[0].content;
    expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', color: 'Attention' });
    expect(card.body.find((b) => b.type === 'FactSet')?.facts).toHaveLength(12);
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Details', url: 'https://pbx.example.test/api/v1/runs/1' }]);
    expect((teamsBody(report, 'success') as typeof body).attachments[0].content.body[0].color).toBe('Good');
  });
});

describe('signature, delivery id, origin', () => {
  it('signs the raw body with HMAC-SHA256 as receivers recompute it', () => {
    expect(webhookSignature('k'.repeat(16), '{"a":1}')).toBe(`sha256=${createHmac('sha256', 'k'.repeat(16)).update('{"a":1}').digest('hex')}`);
  });

  it('derives one stable uuid per (report, webhook)', () => {
    const id = webhookDeliveryId('run', 'backup.failed', 'hook');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(webhookDeliveryId('run', 'backup.failed', 'hook')).toBe(id);
    expect(webhookDeliveryId('run', 'backup.failed', 'other')).not.toBe(id);
    expect(webhookDeliveryId('run', 'stale:x', 'hook')).not.toBe(id);
  });

  it('logs only the origin of a URL (its path may be the credential)', () => {
    expect(webhookOrigin('https://hooks.slack.com/services/T0/B0/SECRET?x=1')).toBe('https://hooks.slack.com');
  });
});

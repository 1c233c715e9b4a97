import type { WebhookEvent, WebhookFormat } from '@pbx/contracts';
import type { Block, RenderedMail } from './document';

/** What a webhook body says besides the report itself: the facts a receiver may act on. */
export interface WebhookFacts {
  /** Deterministic per (report, webhook): the same on every retry, so a receiver can drop duplicates. */
  deliveryId: string;
  event: WebhookEvent;
  /** The report's kind: backup.failed, archive.succeeded, stale … */
  type: string;
  language: string;
  configuration: { id: string; name: string };
  /** The run a failure or success is about; absent for the staleness alarm. */
  run?: { id: string; kind: string; status: string };
  link: string;
  /** Unix seconds; the same value goes into X-PBX-Backup-Timestamp. */
  timestamp: number;
}

/** Slack: a section's text is at most 3000 characters, a section at most 10 fields of 2000. */
const SLACK_TEXT_MAX = 3000;
const SLACK_FIELD_MAX = 2000;

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
/** Slack mrkdwn needs only these three escaped. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The `json` body: the facts, the report's subject and its plain text (the mail's, same language). */
export function jsonBody(report: RenderedMail, facts: WebhookFacts): Record<string, unknown> {
  return {
    id: facts.deliveryId,
    event: facts.event,
    type: facts.type,
    timestamp: facts.timestamp,
    language: facts.language,
    configuration: facts.configuration,
    ...(facts.run ? { run: facts.run } : {}),
    subject: report.subject,
    text: report.text,
    link: facts.link,
  };
}

/** A Slack incoming webhook message: `text` (notifications, fallback) and Block Kit blocks from the report's document. */
export function slackBody(report: RenderedMail): Record<string, unknown> {
  const blocks: Record<string, unknown>[] = [];
  const section = (text: string) => blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(text, SLACK_TEXT_MAX) } });
  for (const b of report.blocks) {
    switch (b.type) {
      case 'heading':
        blocks.push({ type: 'header', text: { type: 'plain_text', text: cut(b.text, 150), emoji: false } });
        break;
      case 'paragraph':
        section(slackEscape(b.text));
        break;
      case 'facts':
        for (let i = 0; i < b.rows.length; i += 10) {
          blocks.push({
            type: 'section',
            fields: b.rows.slice(i, i + 10).map(([label, value]) => ({ type: 'mrkdwn', text: cut(`*${slackEscape(label)}*\n${slackEscape(value)}`, SLACK_FIELD_MAX) })),
          });
        }
        break;
      case 'list':
        for (const item of b.items) section([`${item.alert ? ':x:' : '•'} *${slackEscape(item.title)}*`, ...item.lines.map(slackEscape)].join('\n'));
        break;
      case 'link':
        section(`<${b.href}|${slackEscape(b.label)}>`);
        break;
    }
  }
  return { text: report.subject, blocks: blocks.slice(0, 50) };
}

/**
 * A Teams message with an Adaptive Card (what Teams workflows' "post to a channel when a webhook
 * request is received" and the older incoming webhooks both take).
 */
export function teamsBody(report: RenderedMail, event: WebhookEvent): Record<string, unknown> {
  const body: Record<string, unknown>[] = [];
  const attention = event === 'success' ? 'Good' : 'Attention';
  const actions: Record<string, unknown>[] = [];
  for (const b of report.blocks) body.push(...teamsElements(b, attention, actions));
  return {
    type: 'message',
    summary: report.subject,
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', msteams: { width: 'Full' }, body, actions },
      },
    ],
  };
}

function teamsElements(b: Block, attention: string, actions: Record<string, unknown>[]): Record<string, unknown>[] {
  switch (b.type) {
    case 'heading':
      return [{ type: 'TextBlock', text: b.text, weight: 'Bolder', size: 'Medium', color: attention, wrap: true }];
    case 'paragraph':
      return [{ type: 'TextBlock', text: b.text, wrap: true }];
    case 'facts':
      return [{ type: 'FactSet', facts: b.rows.map(([title, value]) => ({ title, value })) }];
    case 'list':
      return b.items.map((i) => ({ type: 'TextBlock', text: [i.title, ...i.lines].join('\n\n'), color: i.alert ? 'Attention' : 'Default', wrap: true, spacing: 'Small' }));
    case 'link':
      actions.push({ type: 'Action.OpenUrl', title: b.label, url: b.href });
      return [];
  }
}

/** The body a webhook of `format` gets. */
export function webhookBody(format: WebhookFormat, report: RenderedMail, facts: WebhookFacts): Record<string, unknown> {
  switch (format) {
    case 'json':
      return jsonBody(report, facts);
    case 'slack':
      return slackBody(report);
    case 'teams':
      return teamsBody(report, facts.event);
  }
}

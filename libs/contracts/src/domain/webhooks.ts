import { z } from 'zod';
import { checkedString, hostProblems, mustBe, oneOf, secret } from './fields';

/**
 * Webhooks of a configuration: where the notifier also tells about a run's failure or success
 * and about the staleness alarm, beside the report-to mail (docs/notifications.md). `json` is
 * the service's own body, signed with the webhook's secret (X-PBX-Backup-Signature); `slack`
 * and `teams` are bodies those chat tools' incoming webhooks take. The secret is sealed at
 * rest and write-only like destination secrets.
 */

export const WEBHOOK_FORMATS = ['json', 'slack', 'teams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** failure: a run failed or partially failed; success: a run succeeded; staleness: the staleness alarm fired. */
export const WEBHOOK_EVENTS = ['failure', 'success', 'staleness'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['failure', 'staleness'];

export const MAX_WEBHOOKS = 5;
export const WEBHOOK_URL_MAX_LENGTH = 2048;
export const WEBHOOK_SECRET_MIN_LENGTH = 16;
export const WEBHOOK_SECRET_MAX_LENGTH = 256;

/** With a secret: `sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-PBX-Backup-Signature';
/** Unix seconds when the request was sent; a `json` body carries the same value (signed) as `timestamp`, for a replay window. */
export const WEBHOOK_TIMESTAMP_HEADER = 'X-PBX-Backup-Timestamp';
/** The replay window receivers are told to apply (docs/notifications.md). */
export const WEBHOOK_REPLAY_WINDOW_S = 300;

/** What is wrong with a webhook URL; none of the messages repeats it (it may carry a token in its path). */
export function webhookUrlProblems(v: string): string[] {
  if (v.length === 0) return ['must not be empty'];
  if (v.length > WEBHOOK_URL_MAX_LENGTH) return [`must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`];
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return ['must be an absolute URL like https://hooks.example.com/pbx'];
  }
  const problems: string[] = [];
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push('must start with https:// or http://');
  // Credentials in a URL end up in proxies' and servers' logs: a secret goes in `secret`.
  if (url.username || url.password) problems.push('must not contain a user name or password (use the secret field to sign requests)');
  if (url.hash) problems.push('must not contain a #fragment');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (problems.length === 0 && hostProblems(host)) problems.push('must name a valid host');
  return problems;
}

export const webhookUrlSchema = checkedString('an https:// or http:// URL', webhookUrlProblems).meta({
  description: 'https:// (or http://) URL the notifier POSTs to; no user name or password in it. Its host must be allowed by WEBHOOK_HOSTS_ALLOWED.',
});

const eventListSchema = z
  .array(oneOf(WEBHOOK_EVENTS), { error: mustBe('a list of events like ["failure", "staleness"]') })
  .min(1, { error: 'must name at least one event' })
  .superRefine((list, ctx) => {
    list.forEach((e, i) => {
      if (list.indexOf(e) < i) ctx.addIssue({ code: 'custom', path: [i], message: 'is listed twice' });
    });
  });

export const webhookSecretSchema = secret(
  checkedString('a string', (v) => {
    if (v.length < WEBHOOK_SECRET_MIN_LENGTH) return `must be at least ${WEBHOOK_SECRET_MIN_LENGTH} characters`;
    if (v.length > WEBHOOK_SECRET_MAX_LENGTH) return `must be at most ${WEBHOOK_SECRET_MAX_LENGTH} characters`;
    return undefined;
  }),
);

/**
 * One webhook of a request. `id` names a stored webhook (PATCH: its secret is kept when
 * `secret` is omitted); without one it is new. `secret` signs `json` bodies.
 */
export const webhookSchema = z.strictObject(
  {
    id: z.uuid({ error: mustBe('the id of a webhook of this configuration') }).optional(),
    url: webhookUrlSchema,
    format: oneOf(WEBHOOK_FORMATS).default('json'),
    events: eventListSchema.default([...DEFAULT_WEBHOOK_EVENTS]),
    secret: webhookSecretSchema.optional(),
  },
  { error: mustBe('an object like { "url": "https://hooks.example.com/pbx", "format": "json" }') },
);
export type WebhookInput = z.output<typeof webhookSchema>;

export const webhookListSchema = z
  .array(webhookSchema, { error: mustBe('a list of webhooks') })
  .max(MAX_WEBHOOKS, { error: `must contain at most ${MAX_WEBHOOKS} webhooks` })
  .superRefine((list, ctx) => {
    list.forEach((w, i) => {
      if (w.id !== undefined && list.findIndex((o) => o.id === w.id) < i) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'is listed twice' });
    });
  });

/** A webhook as stored in clear (configurations.webhooks); its secret is sealed apart (webhook_secrets, by id). */
export interface WebhookSettings {
  id: string;
  url: string;
  format: WebhookFormat;
  events: WebhookEvent[];
}

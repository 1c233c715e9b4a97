import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from '@pbx/contracts';
import { HostAllowlist } from '@pbx/destinations';

export interface WebhookAdapterOptions {
  /** The whole call (connect, send, answer) may take this long. */
  timeoutMs: number;
  /** WEBHOOK_HOSTS_ALLOWED, judged on the address actually dialled. */
  hosts?: HostAllowlist;
  userAgent?: string;
}

export interface OutgoingWebhook {
  url: string;
  /** The exact bytes sent and signed. */
  body: string;
  /** Opened signing secret; never logged. */
  secret?: string;
  /** Unix seconds (X-PBX-Backup-Timestamp). */
  timestamp: number;
  deliveryId: string;
}

/** The receiver is unreachable, slow, redirected or answered non-2xx; retrying later may help. */
export class WebhookSendError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WebhookSendError';
  }
}

/** How much of an answer's body a log line shows (it may be large or echo what was sent). */
const ANSWER_SNIPPET = 200;

/** `sha256=<hex HMAC-SHA256 of the raw body>`: what X-PBX-Backup-Signature carries and a receiver recomputes. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * Where a URL points, for logs and errors: scheme, host and port only. The path and query of
 * a Slack or Teams URL are its credential.
 */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/**
 * The notifier's only HTTP I/O: one POST, resolved on a 2xx answer. No redirect is followed (a
 * 3xx is a failure: it could lead to a host the allowlist never judged); the host is checked
 * against WEBHOOK_HOSTS_ALLOWED on the address the socket connects to.
 */
export class WebhookAdapter {
  private readonly hosts: HostAllowlist;

  constructor(private readonly options: WebhookAdapterOptions) {
    this.hosts = options.hosts ?? HostAllowlist.anywhere;
  }

  send(hook: OutgoingWebhook): Promise<{ status: number }> {
    const url = new URL(hook.url);
    const origin = url.origin;
    const client = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(hook.body)),
      'user-agent': this.options.userAgent ?? 'pbx-backup-notifier',
      [WEBHOOK_TIMESTAMP_HEADER]: String(hook.timestamp),
      'X-PBX-Backup-Delivery': hook.deliveryId,
    };
    if (hook.secret !== undefined) headers[WEBHOOK_SIGNATURE_HEADER] = webhookSignature(hook.secret, hook.body);
    const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // An address literal is never looked up, so it is judged here.
    if (isIP(literal) && !this.hosts.allows(literal)) return Promise.reject(new WebhookSendError(`webhook ${origin}: the host is not in WEBHOOK_HOSTS_ALLOWED`));
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (message: string, status?: number) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(new WebhookSendError(`webhook ${origin}: ${message}`, status));
      };
      const req = client.request(url, { method: 'POST', headers, lookup: this.lookup(url.hostname), agent: false }, (res) => {
        const status = res.statusCode ?? 0;
        let snippet = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (snippet.length < ANSWER_SNIPPET) snippet += chunk.slice(0, ANSWER_SNIPPET - snippet.length);
        });
        res.on('error', (err) => fail(err.message));
        res.on('end', () => {
          if (status >= 200 && status < 300) {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status });
          } else if (status >= 300 && status < 400) fail(`answered ${status} (a redirect; webhooks follow none: use the final URL)`, status);
          else fail(`answered ${status}${snippet ? `: ${oneLine(snippet)}` : ''}`, status);
        });
      });
      const timer = setTimeout(() => fail(`no answer within ${this.options.timeoutMs} ms`), this.options.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'EHOSTNOTALLOWED' ? err.message : `could not connect (${err.code ?? err.message})`));
      req.end(hook.body);
    });
  }

  /** dns.lookup, refusing an address WEBHOOK_HOSTS_ALLOWED does not allow; literals are judged as they are. */
  private lookup(hostname: string): LookupFunction | undefined {
    if (this.hosts.unrestricted) return undefined;
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    return (name, options, callback) => {
      dnsLookup(name, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const list = addresses as unknown as LookupAddress[];
        if (!list.length || !this.hosts.allows(host, isIP(host) ? [] : list.map((a) => a.address))) {
          const refused: NodeJS.ErrnoException = new Error('the host is not in WEBHOOK_HOSTS_ALLOWED');
          refused.code = 'EHOSTNOTALLOWED';
          return callback(refused, '', 0);
        }
        if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
        callback(null, list[0].address, list[0].family);
      });
    };
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

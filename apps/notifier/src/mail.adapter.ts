import nodemailer, { type Transporter } from 'nodemailer';

export interface MailAdapterOptions {
  /** smtp(s)://[user:pass@]host:port — never logged or put into an error. */
  smtpUrl: string;
  mailFrom: string;
  /** Connection, greeting and socket timeouts; bounds how long a send (and the row lock held meanwhile) can take. */
  timeoutMs?: number;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Deterministic per (subject, kind): a duplicate that slips through the crash window carries the same id. */
  messageId: string;
  headers?: Record<string, string>;
}

/** The SMTP server is down or refused the message; retrying later may help. */
export class MailSendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailSendError';
  }
}

/** The notifier's only SMTP I/O: one message over nodemailer, resolved once the server accepted it (250 after DATA). */
export class MailAdapter {
  private readonly transport: Transporter;

  constructor(private readonly options: MailAdapterOptions) {
    const timeout = options.timeoutMs ?? 30_000;
    this.transport = nodemailer.createTransport({
      url: options.smtpUrl,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.options.mailFrom,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        // RFC 3834: keeps out-of-office replies and loops away from a machine sender.
        headers: { 'Auto-Submitted': 'auto-generated', ...mail.headers },
      });
    } catch (err) {
      throw new MailSendError(`could not send the mail to ${mail.to}: ${describe(err)}`, { cause: err });
    }
  }

  close(): void {
    this.transport.close();
  }
}

/** nodemailer's code and server response; its messages name host and port, never the credentials. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: string; responseCode?: number; response?: string };
  const parts = [e.code, e.responseCode ? String(e.responseCode) : undefined, e.response ?? e.message].filter(Boolean);
  return parts.join(' ');
}

/** `<subject.kind@domain>` with the domain of MAIL_FROM; characters RFC 5322 forbids in the left part become "-". */
export function deterministicMessageId(subjectId: string, kind: string, mailFrom: string): string {
  const domain = /@([A-Za-z0-9.-]+)\s*>?\s*$/.exec(mailFrom)?.[1] ?? 'pbx-backup.local';
  const left = `${subjectId}.${kind}`.replace(/[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]/g, '-').replace(/\.{2,}/g, '.');
  return `<${left}@${domain}>`;
}

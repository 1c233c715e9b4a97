import { basename } from 'node:path';
import nodemailer from 'nodemailer';
import type { DeliveryCode } from '@pbx/contracts';
import type { EmailDestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, errorMessage, TestReport, throwIfAborted } from './delivery';
import { backupLocation, checkSegment } from './paths';

export interface EmailAdapterOptions {
  /** e.g. smtp://user:pass@mail.example.com:587 or smtps://…:465 */
  smtpUrl: string;
  mailFrom: string;
  /** Largest message (on the wire) we try to send. Default 20 MiB: many providers cap at 20–25 MB. */
  maxBytes?: number;
  /** Socket/greeting timeouts (ms). */
  timeoutMs?: number;
}

export const DEFAULT_MAIL_MAX_BYTES = 20 * 1024 * 1024;

/** Headers, text part and MIME boundaries around the attachment: a generous fixed allowance. */
const MIME_OVERHEAD_BYTES = 8 * 1024;

/**
 * Size of the message on the wire: base64 turns 3 bytes into 4 and nodemailer wraps lines
 * at 76 characters + CRLF.
 */
export function estimateMailBytes(attachmentBytes: number): number {
  const base64 = Math.ceil(attachmentBytes / 3) * 4;
  const lineBreaks = Math.ceil(base64 / 76) * 2;
  return base64 + lineBreaks + MIME_OVERHEAD_BYTES;
}

/**
 * Sends the archive as an attachment (streamed from disk by nodemailer). Mail has no
 * folders to clean up, so `list` is always empty and `remove` does nothing.
 */
export class EmailAdapter implements DestinationAdapter<EmailDestinationConfig> {
  readonly type = 'email' as const;

  constructor(private readonly options: EmailAdapterOptions) {}

  label(config: EmailDestinationConfig): string {
    return `[EMAIL]${config.to}`;
  }

  async deliver(config: EmailDestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    throwIfAborted(req.signal);
    const location = backupLocation(req.configurationName, req.fileName);
    const max = this.options.maxBytes ?? DEFAULT_MAIL_MAX_BYTES;
    const estimate = estimateMailBytes(req.size);
    if (estimate > max) {
      throw new DeliveryError('mailtobig', `the backup would be ${mib(estimate)} MiB as e-mail, more than the ${mib(max)} MiB allowed`, true);
    }
    const transport = this.transport();
    const onAbort = () => transport.close();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      req.onProgress?.(0);
      await transport.sendMail({
        from: this.options.mailFrom,
        to: config.to,
        subject: `PBX backup "${req.configurationName}": ${req.fileName}`,
        text: [
          `Backup configuration: ${req.configurationName}`,
          `File: ${req.fileName}`,
          `Size: ${req.size} bytes`,
          `SHA-256: ${req.sha256}`,
          '',
          'The archive is attached.',
        ].join('\n'),
        attachments: [{ filename: checkSegment('file name', req.fileName), path: req.filePath, contentType: 'application/octet-stream' }],
        headers: { 'X-PBX-Backup-Configuration': encodeURIComponent(req.configurationName), 'X-PBX-Backup-SHA256': req.sha256 },
      });
      req.onProgress?.(req.size);
      // The server accepted the whole message (250 after DATA); the size was checked up front.
      return { location, target: this.label(config), verified: 'size' };
    } catch (err) {
      if (req.signal?.aborted) throw new DeliveryError('timeout', 'delivery aborted', false, { cause: err });
      throw smtpError(err);
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      transport.close();
    }
  }

  async list(): Promise<string[]> {
    return [];
  }

  async remove(): Promise<void> {
    // Sent mail cannot be recalled; retention does not apply to e-mail.
  }

  async test(config: EmailDestinationConfig): Promise<TestReport> {
    const transport = this.transport();
    try {
      await transport.verify();
      return { ok: true, steps: [{ step: 'connect and authenticate to SMTP server', ok: true, detail: `${basename(this.options.mailFrom)} -> ${config.to}` }] };
    } catch (err) {
      const e = smtpError(err);
      return { ok: false, code: e.code, steps: [{ step: 'connect and authenticate to SMTP server', ok: false, detail: e.message }] };
    } finally {
      transport.close();
    }
  }

  private transport() {
    const timeout = this.options.timeoutMs ?? 60_000;
    return nodemailer.createTransport({
      url: this.options.smtpUrl,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  message?: string;
}

function smtpCode(err: SmtpFailure): Exclude<DeliveryCode, 'successful'> {
  if (err.code === 'EAUTH' || err.code === 'ENOAUTH' || err.responseCode === 535 || err.responseCode === 530) return 'authFailed';
  if (err.responseCode === 552 || ((err.responseCode ?? 0) >= 500 && /size|too (big|large)/i.test(err.message ?? ''))) return 'mailtobig';
  if (err.code === 'EENVELOPE' || err.responseCode === 550 || err.responseCode === 553 || err.responseCode === 551) return 'notFound';
  if (err.responseCode === 452 || err.responseCode === 422) return 'quotaExceeded';
  if (err.code === 'ETIMEDOUT' || /timeout/i.test(err.message ?? '')) return 'timeout';
  if (err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'EDNS') return 'mountfail';
  return 'ioError';
}

function smtpError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = (err ?? {}) as SmtpFailure;
  const code = smtpCode(e);
  // Other 5xx replies are final too; 4xx and network trouble are worth a retry.
  const permanent = code === 'ioError' ? (e.responseCode ?? 0) >= 500 : undefined;
  return new DeliveryError(code, `SMTP: ${errorMessage(err)}`, permanent, { cause: err });
}

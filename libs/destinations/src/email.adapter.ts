import { basename } from 'node:path';
import nodemailer from 'nodemailer';
import type { EmailDestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, errorMessage, StoredFile, StoredHash, TestReport, throwIfAborted } from './delivery';
import { classifyFault } from './fault-table';
import { backupLocation, checkSegment } from './paths';
import { SMTP_FAULTS, type SmtpFault } from './smtp-faults';

export interface EmailAdapterOptions {
  /** e.g. smtp://user:pass@mail.example.com:587 or smtps://…:465 */
  smtpUrl: string;
  mailFrom: string;
  /** Largest message (on the wire) we try to send. Default 20 MiB: many providers cap at 20–25 MB. */
  maxBytes?: number;
  /** Connecting and the server's greeting may take this long (ms; DESTINATION_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  /** A connection on which nothing moved this long is dropped, also mid-message (ms; DESTINATION_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
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
    // The names as every other destination writes them (NFC); nodemailer encodes non-ASCII
    // ones (RFC 2047 subject, RFC 2231 attachment filename*).
    const configurationName = checkSegment('configuration name', req.configurationName);
    const fileName = checkSegment('file name', req.fileName);
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
        subject: `PBX backup "${configurationName}": ${fileName}`,
        text: [
          `Backup configuration: ${configurationName}`,
          `File: ${fileName}`,
          `Size: ${req.size} bytes`,
          `SHA-256: ${req.sha256}`,
          '',
          'The archive is attached.',
        ].join('\n'),
        attachments: [{ filename: fileName, path: req.filePath, contentType: 'application/octet-stream' }],
        headers: { 'X-PBX-Backup-Configuration': encodeURIComponent(configurationName), 'X-PBX-Backup-SHA256': req.sha256 },
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

  async listDetailed(): Promise<StoredFile[]> {
    return [];
  }

  /** A mail cannot be fetched back from the recipient's mailbox. */
  async hash(): Promise<StoredHash> {
    return { state: 'notVerifiable' };
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
    const connect = this.options.connectTimeoutMs ?? 20_000;
    return nodemailer.createTransport({
      url: this.options.smtpUrl,
      connectionTimeout: connect,
      greetingTimeout: connect,
      // nodemailer's socket timeout is an idle timeout: a server that stops reading mid-DATA ends here.
      socketTimeout: this.options.idleTimeoutMs ?? 60_000,
    });
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function smtpError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = (err ?? {}) as SmtpFault;
  const rule = classifyFault(SMTP_FAULTS, { code: e.code, responseCode: e.responseCode, message: e.message });
  return new DeliveryError(rule.code, `SMTP: ${errorMessage(err)}`, rule.permanent, { cause: err });
}

import type { FaultRule } from './fault-table';
import { oneOf } from './fault-table';

/** A failed send as nodemailer reports it: its own `code` (EAUTH, EENVELOPE, ETIMEDOUT, …) and the server's reply code. */
export interface SmtpFault {
  code?: string;
  responseCode?: number;
  message?: string;
}

const code =
  (...codes: string[]) =>
  (f: SmtpFault) =>
    oneOf(...codes)(f.code);
const reply =
  (...codes: number[]) =>
  (f: SmtpFault) =>
    oneOf(...codes)(f.responseCode);
const replyIn = (from: number, to: number) => (f: SmtpFault) => f.responseCode !== undefined && f.responseCode >= from && f.responseCode <= to;

/**
 * E-mail: nodemailer code or SMTP reply → code, permanent or not. First match wins. SMTP says
 * it itself: 4xx is "try again later", 5xx is final (RFC 5321 4.2.1).
 */
export const SMTP_FAULTS: readonly FaultRule<SmtpFault>[] = [
  { when: '454 temporary authentication failure', match: reply(454), code: 'authFailed', permanent: false },
  { when: 'EAUTH, ENOAUTH, 530, 534, 535, 538 (credentials refused or required)', match: (f) => code('EAUTH', 'ENOAUTH')(f) || reply(530, 534, 535, 538)(f), code: 'authFailed', permanent: true },
  {
    when: '552, 523, or 5xx mentioning size (message too big)',
    match: (f) => reply(552, 523)(f) || (replyIn(500, 599)(f) && /size|too (big|large)/i.test(f.message ?? '')),
    code: 'mailtobig',
    permanent: true,
  },
  { when: '452, 422 (storage or mailbox full for now)', match: reply(452, 422), code: 'quotaExceeded', permanent: false },
  { when: 'EENVELOPE, 550, 551, 553 (recipient or sender refused)', match: (f) => code('EENVELOPE')(f) || reply(550, 551, 553)(f), code: 'notFound', permanent: true },
  { when: 'ETIMEDOUT: connection, greeting or socket idle timeout', match: (f) => code('ETIMEDOUT')(f) || /timeout/i.test(f.message ?? ''), code: 'timeout', permanent: false },
  { when: '421 service not available (closing)', match: reply(421), code: 'mountfail', permanent: false },
  { when: 'ECONNECTION, ESOCKET, EDNS (not reachable, connection dropped)', match: code('ECONNECTION', 'ESOCKET', 'EDNS'), code: 'mountfail', permanent: false },
  { when: 'other 4xx (450, 451, …)', match: replyIn(400, 499), code: 'ioError', permanent: false },
  { when: 'other 5xx', match: replyIn(500, 599), code: 'ioError', permanent: true },
  { when: 'anything else', match: () => true, code: 'ioError', permanent: false },
];

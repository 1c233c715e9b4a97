import type { FaultRule } from './fault-table';
import { oneOf } from './fault-table';

/**
 * A failed SFTP call, as ssh2 / ssh2-sftp-client report it: `code` is an SFTP status number
 * (draft-ietf-secsh-filexfer-02: 2 no such file, 3 permission denied, 4 failure, 5 bad message,
 * 6 no connection, 7 connection lost, 8 op unsupported), an errno, or the client's own
 * `ERR_*`; `level` is ssh2's phase (`client-authentication`, `client-timeout`, `client-dns`, …).
 */
export interface SftpFault {
  code?: unknown;
  level?: string;
  message: string;
}

const status =
  (...codes: number[]) =>
  (f: SftpFault) =>
    typeof f.code === 'number' && codes.includes(f.code);
const code =
  (...codes: string[]) =>
  (f: SftpFault) =>
    typeof f.code === 'string' && oneOf(...codes)(f.code);
const level =
  (...levels: string[]) =>
  (f: SftpFault) =>
    oneOf(...levels)(f.level);
const text = (re: RegExp) => (f: SftpFault) => re.test(f.message);
const any =
  (...preds: Array<(f: SftpFault) => boolean>) =>
  (f: SftpFault) =>
    preds.some((p) => p(f));

/**
 * SFTP: SSH phase, SFTP status, errno or the server's words → code, permanent or not. First
 * match wins. OpenSSH's sftp-server answers a full disk with the generic status 4 (failure),
 * hence the text rule before it.
 */
export const SFTP_FAULTS: readonly FaultRule<SftpFault>[] = [
  { when: 'SFTP status 3 permission denied, EACCES', match: any(status(3), code('EACCES'), text(/permission denied/i)), code: 'sftpRightProblem', permanent: true },
  { when: 'SFTP status 2 no such file, ENOENT, ENOTDIR', match: any(status(2), code('ENOENT', 'ENOTDIR'), text(/no such file/i)), code: 'notFound', permanent: true },
  {
    when: 'SSH authentication refused (level client-authentication, ERR_BAD_AUTH)',
    match: any(level('client-authentication'), code('ERR_BAD_AUTH'), text(/authentication methods failed|authentication failed|auth fail/i)),
    code: 'authFailed',
    permanent: true,
  },
  { when: 'host key refused by the verifier', match: text(/host denied|verification failed/i), code: 'hostKeyMismatch', permanent: true },
  { when: 'disk full or quota (the server\'s words)', match: text(/quota|no space|disk full/i), code: 'quotaExceeded', permanent: true },
  { when: 'SFTP status 8 op unsupported (the server cannot do what a delivery needs)', match: status(8), code: 'ioError', permanent: true },
  {
    when: 'timed out: handshake (readyTimeout), keepalive, ETIMEDOUT, no progress for the idle timeout',
    match: any(level('client-timeout'), code('ETIMEDOUT'), text(/timed out|timeout/i)),
    code: 'timeout',
    permanent: false,
  },
  {
    when: 'not reachable: ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN (level client-dns)',
    match: any(level('client-dns'), code('ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'), text(/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/)),
    code: 'mountfail',
    permanent: false,
  },
  {
    when: 'connection dropped mid-transfer: ECONNRESET, EPIPE, SFTP status 6/7, unexpected end/close, ERR_NOT_CONNECTED',
    match: any(status(6, 7), code('ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_NOT_CONNECTED'), text(/unexpected (end|close) event|connection lost|no sftp connection/i)),
    code: 'ioError',
    permanent: false,
  },
  { when: 'SFTP status 4 failure, 5 bad message', match: status(4, 5), code: 'ioError', permanent: false },
  { when: 'anything else', match: () => true, code: 'ioError', permanent: false },
];

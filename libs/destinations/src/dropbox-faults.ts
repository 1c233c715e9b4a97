import type { DeliveryCode } from '@pbx/contracts';

/**
 * What the adapter does about a failed Dropbox request inside one delivery attempt:
 * - `fail`: the attempt ends (the code's permanence decides whether the dispatcher retries),
 * - `refreshToken`: refresh the access token once and repeat the request,
 * - `waitAndRetry`: wait what Dropbox asked (`Retry-After` / `retry_after`), else back off; repeat,
 * - `backoffAndRetry`: back off with jitter and repeat the request (same chunk, same cursor),
 * - `resumeAtOffset`: continue the session at the server's `correct_offset`,
 * - `newSession`: the upload session is gone (expired after 7 days, closed): start a new one.
 */
export type DropboxRecovery = 'fail' | 'refreshToken' | 'waitAndRetry' | 'backoffAndRetry' | 'resumeAtOffset' | 'newSession';

/** A failed request, reduced to what Dropbox tells apart. */
export interface DropboxFault {
  /** HTTP status, absent when no answer came. */
  status?: number;
  /** Dropbox's `error_summary` (e.g. `path/conflict/folder/..`), or the OAuth `error`, or the plain-text body. */
  summary?: string;
  /** Node's error code when no answer came (ECONNRESET, ENOTFOUND, …); `ABORTED` for the caller's abort. */
  network?: string;
}

export interface DropboxFaultRule {
  /** What Dropbox said, in its own terms (for docs/destinations.md). */
  readonly when: string;
  readonly match: (f: DropboxFault) => boolean;
  readonly code: Exclude<DeliveryCode, 'successful'>;
  /** Whether the dispatcher gives up (a human must act) once recovery inside the attempt failed. */
  readonly permanent: boolean;
  readonly recovery: DropboxRecovery;
}

/** Matches a tag path anywhere in an error_summary: `tags('conflict/folder')` matches `path/conflict/folder/..`. */
function tags(...paths: string[]): (f: DropboxFault) => boolean {
  const re = new RegExp(`(^|/)(${paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(/|$)`);
  return (f) => re.test(f.summary ?? '');
}

const network =
  (...codes: string[]) =>
  (f: DropboxFault) =>
    f.network !== undefined && codes.includes(f.network);
const status = (pred: (s: number) => boolean) => (f: DropboxFault) => f.status !== undefined && pred(f.status);
const both =
  (...preds: Array<(f: DropboxFault) => boolean>) =>
  (f: DropboxFault) =>
    preds.every((p) => p(f));

/** Session lookups: `not_found`/`closed` at the top (append_v2) or under `lookup_failed` (finish), never `path/not_found`. */
const sessionGone = (f: DropboxFault) => /^(lookup_failed\/)?(not_found|closed)(\/|$)/.test(f.summary ?? '');

/**
 * Every Dropbox failure → the STARFACE-style code users see, whether it is final, and what
 * happens inside the attempt. First match wins; the order matters where tags overlap (a
 * rate limit inside a 409 WriteError, a session's `not_found` vs a path's).
 * Sources: Dropbox HTTP API docs (errors, files/upload, upload_session/*, RateLimitError).
 */
export const DROPBOX_FAULTS: readonly DropboxFaultRule[] = [
  { when: 'the caller aborted (signal)', match: network('ABORTED'), code: 'timeout', permanent: false, recovery: 'fail' },
  {
    when: 'no connection: refused, unresolvable, no route',
    match: network('ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'),
    code: 'mountfail',
    permanent: false,
    recovery: 'fail',
  },
  { when: 'no bytes moved for the request timeout (connect or idle)', match: network('ETIMEDOUT'), code: 'timeout', permanent: false, recovery: 'backoffAndRetry' },
  {
    when: 'connection dropped mid-request (reset, broken pipe, hang-up, premature close)',
    match: network('ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'HANGUP'),
    code: 'ioError',
    permanent: false,
    recovery: 'backoffAndRetry',
  },
  { when: '401 expired_access_token', match: both(status((s) => s === 401), tags('expired_access_token')), code: 'authFailed', permanent: true, recovery: 'refreshToken' },
  {
    when: '401 (invalid or revoked token), OAuth invalid_grant / invalid_client',
    match: (f) => f.status === 401 || tags('invalid_grant', 'invalid_client', 'invalid_access_token')(f),
    code: 'authFailed',
    permanent: true,
    recovery: 'fail',
  },
  { when: '403 access_error (the app lacks the scope or the account the feature)', match: status((s) => s === 403), code: 'sftpRightProblem', permanent: true, recovery: 'fail' },
  {
    when: '429 too_many_requests / too_many_write_operations, or 409 …/too_many_write_operations',
    match: (f) => f.status === 429 || tags('too_many_requests', 'too_many_write_operations')(f),
    code: 'timeout',
    permanent: false,
    recovery: 'waitAndRetry',
  },
  { when: '413 request entity too large (front end)', match: status((s) => s === 413), code: 'quotaExceeded', permanent: true, recovery: 'fail' },
  { when: '409 payload_too_large (a request body above 150 MB)', match: tags('payload_too_large'), code: 'quotaExceeded', permanent: true, recovery: 'fail' },
  { when: '409 too_large (a file above 350 GB)', match: tags('too_large'), code: 'quotaExceeded', permanent: true, recovery: 'fail' },
  { when: '409 path/insufficient_space', match: tags('insufficient_space', 'insufficient_quota'), code: 'quotaExceeded', permanent: true, recovery: 'fail' },
  {
    when: '409 path/no_write_permission, team_folder, restricted_content',
    match: tags('no_write_permission', 'team_folder', 'restricted_content', 'no_permission'),
    code: 'sftpRightProblem',
    permanent: true,
    recovery: 'fail',
  },
  { when: '409 path/disallowed_name (a name Dropbox will not store)', match: tags('disallowed_name'), code: 'notFound', permanent: true, recovery: 'fail' },
  {
    when: '409 path/conflict/file|folder|file_ancestor (something else is in the way)',
    match: tags('conflict/file', 'conflict/folder', 'conflict/file_ancestor', 'conflict'),
    code: 'notFound',
    permanent: true,
    recovery: 'fail',
  },
  { when: '409 path/malformed_path', match: tags('malformed_path'), code: 'notFound', permanent: true, recovery: 'fail' },
  {
    when: '409 (lookup_failed/)not_found or closed: the upload session expired or was closed',
    match: sessionGone,
    code: 'ioError',
    permanent: false,
    recovery: 'newSession',
  },
  { when: '409 (lookup_failed/)incorrect_offset with correct_offset', match: tags('incorrect_offset'), code: 'ioError', permanent: false, recovery: 'resumeAtOffset' },
  { when: '409 path/not_found (a lookup)', match: tags('not_found'), code: 'notFound', permanent: true, recovery: 'fail' },
  { when: '409 content_hash_mismatch (bytes changed on the way)', match: tags('content_hash_mismatch'), code: 'ioError', permanent: false, recovery: 'fail' },
  { when: '5xx (Dropbox server trouble)', match: status((s) => s >= 500), code: 'ioError', permanent: false, recovery: 'backoffAndRetry' },
  { when: '400 bad input (a request this client should never send)', match: status((s) => s === 400), code: 'ioError', permanent: true, recovery: 'fail' },
  { when: 'anything else', match: () => true, code: 'ioError', permanent: false, recovery: 'fail' },
];

/** The one rule for a fault. */
export function classifyDropboxFault(fault: DropboxFault): DropboxFaultRule {
  // The last rule matches everything.
  return DROPBOX_FAULTS.find((rule) => rule.match(fault))!;
}

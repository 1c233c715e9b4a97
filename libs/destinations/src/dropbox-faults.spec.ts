import { DropboxResponseError } from 'dropbox';
import { Headers } from 'node-fetch';
import { DROPBOX_FAULTS, classifyDropboxFault, type DropboxRecovery } from './dropbox-faults';
import { dropboxError, dropboxFault as faultOf } from './dropbox.adapter';

/** A Dropbox answer as the SDK throws it: status, headers, parsed body (or plain text). */
const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => new DropboxResponseError(status, new Headers(headers), body);
const endpoint = (summary: string, error: unknown = {}) => answer(409, { error_summary: `${summary}/..`, error });
const net = (code: string, message = code) => Object.assign(new Error(message), { code });

/**
 * Each row of DROPBOX_FAULTS, written out from Dropbox's HTTP API documentation: what Dropbox
 * says → the code users see, final or not, and what the attempt does about it.
 */
const CASES: Array<[what: string, thrown: unknown, code: string, permanent: boolean, recovery: DropboxRecovery]> = [
  ['caller aborted', Object.assign(new Error('The user aborted a request.'), { name: 'AbortError', type: 'aborted' }), 'timeout', false, 'fail'],
  ['connection refused', net('ECONNREFUSED'), 'mountfail', false, 'fail'],
  ['host unresolvable', net('ENOTFOUND'), 'mountfail', false, 'fail'],
  ['DNS try again', net('EAI_AGAIN'), 'mountfail', false, 'fail'],
  ['no route', net('EHOSTUNREACH'), 'mountfail', false, 'fail'],
  ['request idle too long', net('ETIMEDOUT'), 'timeout', false, 'backoffAndRetry'],
  ['connection reset mid-chunk', net('ECONNRESET', 'socket hang up'), 'ioError', false, 'backoffAndRetry'],
  ['broken pipe mid-chunk', net('EPIPE'), 'ioError', false, 'backoffAndRetry'],
  ['premature close of the answer', net('ERR_STREAM_PREMATURE_CLOSE', 'Premature close'), 'ioError', false, 'backoffAndRetry'],
  ['401 expired_access_token', answer(401, { error_summary: 'expired_access_token/..', error: { '.tag': 'expired_access_token' } }), 'authFailed', true, 'refreshToken'],
  ['401 invalid_access_token', answer(401, { error_summary: 'invalid_access_token/..', error: { '.tag': 'invalid_access_token' } }), 'authFailed', true, 'fail'],
  ['OAuth invalid_grant (revoked refresh token)', answer(400, { error: 'invalid_grant', error_description: 'refresh token is malformed' }), 'authFailed', true, 'fail'],
  ['OAuth invalid_client (wrong app secret)', answer(400, { error: 'invalid_client', error_description: 'Invalid client_id or client_secret' }), 'authFailed', true, 'fail'],
  ['403 missing scope', answer(403, { error_summary: 'missing_scope/..', error: { '.tag': 'missing_scope' } }), 'sftpRightProblem', true, 'fail'],
  ['429 too_many_requests', answer(429, { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: 30 } }, { 'retry-after': '30' }), 'timeout', false, 'waitAndRetry'],
  ['429 too_many_write_operations', answer(429, { error_summary: 'too_many_write_operations/..', error: { reason: { '.tag': 'too_many_write_operations' }, retry_after: 1 } }), 'timeout', false, 'waitAndRetry'],
  ['409 too_many_write_operations at finish', endpoint('too_many_write_operations', { '.tag': 'too_many_write_operations' }), 'timeout', false, 'waitAndRetry'],
  ['409 path/too_many_write_operations at upload', endpoint('path/too_many_write_operations'), 'timeout', false, 'waitAndRetry'],
  ['413 from the front end', answer(413, 'Request Entity Too Large'), 'quotaExceeded', true, 'fail'],
  ['409 payload_too_large', endpoint('payload_too_large', { '.tag': 'payload_too_large' }), 'quotaExceeded', true, 'fail'],
  ['409 lookup_failed/payload_too_large', endpoint('lookup_failed/payload_too_large'), 'quotaExceeded', true, 'fail'],
  ['409 too_large (350 GB)', endpoint('too_large', { '.tag': 'too_large' }), 'quotaExceeded', true, 'fail'],
  ['409 path/insufficient_space', endpoint('path/insufficient_space'), 'quotaExceeded', true, 'fail'],
  ['409 path/no_write_permission', endpoint('path/no_write_permission'), 'sftpRightProblem', true, 'fail'],
  ['409 path/team_folder', endpoint('path/team_folder'), 'sftpRightProblem', true, 'fail'],
  ['409 path/disallowed_name', endpoint('path/disallowed_name'), 'notFound', true, 'fail'],
  ['409 path/conflict/file', endpoint('path/conflict/file'), 'notFound', true, 'fail'],
  ['409 path/conflict/folder (a folder where the file should go)', endpoint('path/conflict/folder'), 'notFound', true, 'fail'],
  ['409 path/conflict/file_ancestor (a file where a folder belongs)', endpoint('path/conflict/file_ancestor'), 'notFound', true, 'fail'],
  ['409 path/malformed_path', endpoint('path/malformed_path'), 'notFound', true, 'fail'],
  ['409 not_found: append to an expired session', endpoint('not_found', { '.tag': 'not_found' }), 'ioError', false, 'newSession'],
  ['409 lookup_failed/not_found: finish of an expired session', endpoint('lookup_failed/not_found'), 'ioError', false, 'newSession'],
  ['409 closed', endpoint('closed'), 'ioError', false, 'newSession'],
  ['409 lookup_failed/closed', endpoint('lookup_failed/closed'), 'ioError', false, 'newSession'],
  ['409 incorrect_offset', endpoint('incorrect_offset', { '.tag': 'incorrect_offset', correct_offset: 5 }), 'ioError', false, 'resumeAtOffset'],
  ['409 lookup_failed/incorrect_offset', endpoint('lookup_failed/incorrect_offset'), 'ioError', false, 'resumeAtOffset'],
  ['409 path/not_found (get_metadata)', endpoint('path/not_found'), 'notFound', true, 'fail'],
  ['409 path_lookup/not_found (delete)', endpoint('path_lookup/not_found'), 'notFound', true, 'fail'],
  ['409 content_hash_mismatch', endpoint('content_hash_mismatch'), 'ioError', false, 'fail'],
  ['500', answer(500, 'Internal Server Error'), 'ioError', false, 'backoffAndRetry'],
  ['503 with Retry-After', answer(503, 'Service Unavailable', { 'retry-after': '2' }), 'ioError', false, 'backoffAndRetry'],
  ['504', answer(504, 'Gateway Timeout'), 'ioError', false, 'backoffAndRetry'],
  ['400 bad input', answer(400, 'Error in call to API function "files/upload": bad arg'), 'ioError', true, 'fail'],
  ['409 something new', endpoint('other'), 'ioError', false, 'fail'],
  ['an unknown throw', new Error('boom'), 'ioError', false, 'fail'],
];

describe('DROPBOX_FAULTS (every Dropbox error → code, final or not, recovery)', () => {
  it.each(CASES)('%s', (_what, thrown, code, permanent, recovery) => {
    const err = dropboxError(thrown, 'call');
    expect({ code: err.code, permanent: err.permanent, recovery: err.recovery }).toEqual({ code, permanent, recovery });
  });

  it('every row of the table is reached by a case above (none is shadowed by an earlier one)', () => {
    const reached = new Set(CASES.map(([, thrown]) => classifyDropboxFault(faultOf(thrown))));
    expect(DROPBOX_FAULTS.filter((rule) => !reached.has(rule)).map((rule) => rule.when)).toEqual([]);
  });

  it('an incorrect_offset carries the server offset however deeply nested', () => {
    const err = dropboxError(endpoint('lookup_failed/incorrect_offset', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'incorrect_offset', correct_offset: 4096 } }), 'finish');
    expect(err.correctOffset).toBe(4096);
  });
});

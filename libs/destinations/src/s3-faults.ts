import type { FaultRule } from './fault-table';
import { oneOf } from './fault-table';

/**
 * A failed S3 call as the AWS SDK reports it: `name` is the service's error code (`Code` of its
 * XML answer: `NoSuchBucket`, `AccessDenied`, …) or the SDK's own (`TimeoutError`), `status` the
 * HTTP status when the service answered, `errno` a socket error code (`ECONNREFUSED`).
 */
export interface S3Fault {
  name?: string;
  status?: number;
  errno?: string;
  message?: string;
}

const named =
  (...names: string[]) =>
  (f: S3Fault) =>
    oneOf(...names)(f.name);
const errno =
  (...codes: string[]) =>
  (f: S3Fault) =>
    oneOf(...codes)(f.errno);
const status =
  (...codes: number[]) =>
  (f: S3Fault) =>
    f.status !== undefined && codes.includes(f.status);
const text = (re: RegExp) => (f: S3Fault) => re.test(f.message ?? '');
const any =
  (...preds: Array<(f: S3Fault) => boolean>) =>
  (f: S3Fault) =>
    preds.some((p) => p(f));

/**
 * S3 (AWS and the S3-compatible servers: MinIO, Ceph RGW, Wasabi, s3rver): the service's error
 * code, the HTTP status, the socket's errno → code, permanent or not. First match wins.
 */
export const S3_FAULTS: readonly FaultRule<S3Fault>[] = [
  {
    when: 'no room (before the 403 row: Ceph answers QuotaExceeded with 403): QuotaExceeded, EntityTooLarge, XMinioStorageFull, XMinioAdminBucketQuotaExceeded, 507, "quota"',
    match: any(named('QuotaExceeded', 'EntityTooLarge', 'XMinioStorageFull', 'XMinioAdminBucketQuotaExceeded', 'InsufficientStorage'), status(413, 507), text(/quota/i)),
    code: 'quotaExceeded',
    permanent: true,
  },
  {
    when: 'credentials refused: InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, InvalidToken, ExpiredToken, 401/403',
    match: any(named('InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'AllAccessDisabled', 'AccountProblem'), status(401, 403)),
    code: 'authFailed',
    permanent: true,
  },
  { when: 'the bucket does not exist: NoSuchBucket, InvalidBucketName', match: named('NoSuchBucket', 'InvalidBucketName'), code: 'notFound', permanent: true },
  {
    when: 'the bucket cannot do what is asked: InvalidRequest (e.g. Object Lock on a bucket without it), InvalidStorageClass, NotImplemented, MethodNotAllowed',
    match: named('InvalidRequest', 'InvalidStorageClass', 'NotImplemented', 'MethodNotAllowed', 'InvalidObjectState'),
    code: 'ioError',
    permanent: true,
  },
  {
    when: 'timed out: connecting (DESTINATION_CONNECT_TIMEOUT_MS), nothing moved (DESTINATION_IDLE_TIMEOUT_MS), the service\'s RequestTimeout, ETIMEDOUT, aborted',
    match: any(named('TimeoutError', 'RequestTimeout', 'AbortError'), errno('ETIMEDOUT', 'ABORT_ERR'), text(/timed out|timeout/i)),
    code: 'timeout',
    permanent: false,
  },
  {
    when: 'not reachable: ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN, TLS handshake',
    match: any(
      errno('ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'),
      // The SDK's retry layer re-wraps a socket error it does not recognise as an Error: only its text is left.
      text(/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/),
    ),
    code: 'mountfail',
    permanent: false,
  },
  {
    when: 'busy or broken for now: SlowDown, ServiceUnavailable, InternalError, 5xx, ECONNRESET, EPIPE',
    match: any(named('SlowDown', 'ServiceUnavailable', 'InternalError'), status(500, 502, 503, 504), errno('ECONNRESET', 'EPIPE', 'ECONNABORTED'), text(/ECONNRESET|EPIPE|socket hang up/)),
    code: 'ioError',
    permanent: false,
  },
  { when: 'anything else', match: () => true, code: 'ioError', permanent: false },
];

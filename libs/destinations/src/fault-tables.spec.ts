import type { DeliveryFailureCode } from '@pbx/contracts';
import { classifyFault, type FaultRule } from './fault-table';
import { FS_FAULTS, type FsFault } from './fs-faults';
import { S3_FAULTS, type S3Fault } from './s3-faults';
import { SFTP_FAULTS, type SftpFault } from './sftp-faults';
import { SMB_FAULTS, type SmbFault } from './smb-faults';
import { SMTP_FAULTS, type SmtpFault } from './smtp-faults';

type Case<F> = [fault: F, code: DeliveryFailureCode, permanent: boolean];

/** Each case is classified as stated, and every row of the table is reached by some case. */
function tableSpec<F>(name: string, table: readonly FaultRule<F>[], cases: Case<F>[]): void {
  describe(name, () => {
    it.each(cases.map((c) => [JSON.stringify(c[0]), ...c] as const))('%s → %s', (_label, fault, code, permanent) => {
      const rule = classifyFault(table, fault);
      expect({ code: rule.code, permanent: rule.permanent }).toEqual({ code, permanent });
    });

    it('has a case for every row, and ends with a catch-all', () => {
      const reached = new Set(cases.map(([fault]) => classifyFault(table, fault)));
      expect(table.filter((row) => !reached.has(row)).map((row) => row.when)).toEqual([]);
      expect(table.at(-1)!.match({} as F)).toBe(true);
    });
  });
}

tableSpec<FsFault>('FS_FAULTS (local, usb)', FS_FAULTS, [
  [{ errno: 'EACCES' }, 'sftpRightProblem', true],
  [{ errno: 'EPERM' }, 'sftpRightProblem', true],
  [{ errno: 'EROFS' }, 'sftpRightProblem', true],
  [{ errno: 'ENOSPC' }, 'quotaExceeded', true],
  [{ errno: 'EDQUOT' }, 'quotaExceeded', true],
  [{ errno: 'EFBIG' }, 'quotaExceeded', true],
  [{ errno: 'ENOENT' }, 'notFound', true],
  [{ errno: 'ENOTDIR' }, 'notFound', true],
  [{ errno: 'EISDIR' }, 'notFound', true],
  [{ errno: 'ENAMETOOLONG' }, 'notFound', true],
  [{ errno: 'ENODEV' }, 'mountfail', false],
  [{ errno: 'ESTALE' }, 'mountfail', false],
  [{ errno: 'ENOTCONN' }, 'mountfail', false],
  [{ errno: 'ABORT_ERR' }, 'timeout', false],
  [{ errno: 'ETIMEDOUT' }, 'timeout', false],
  [{ errno: 'EIO' }, 'ioError', false],
  [{ errno: 'EBUSY' }, 'ioError', false],
  [{ errno: 'EMFILE' }, 'ioError', false],
  [{ errno: 'EWHATEVER' }, 'ioError', false],
  [{}, 'ioError', false],
]);

tableSpec<SftpFault>('SFTP_FAULTS', SFTP_FAULTS, [
  [{ code: 3, message: 'mkdir: Permission denied /srv' }, 'sftpRightProblem', true],
  [{ code: 'EACCES', message: 'put: EACCES' }, 'sftpRightProblem', true],
  [{ code: 2, message: 'No such file' }, 'notFound', true],
  [{ code: 'ENOTDIR', message: 'x' }, 'notFound', true],
  [{ level: 'client-authentication', message: 'All configured authentication methods failed' }, 'authFailed', true],
  [{ code: 'ERR_BAD_AUTH', message: 'connect: bad auth' }, 'authFailed', true],
  [{ level: 'handshake', message: 'Handshake failed: host denied (verification failed)' }, 'hostKeyMismatch', true],
  [{ code: 4, message: 'write: Failure: no space left on device' }, 'quotaExceeded', true],
  [{ code: 4, message: 'Disk quota exceeded' }, 'quotaExceeded', true],
  [{ code: 8, message: 'Operation unsupported' }, 'ioError', true],
  [{ level: 'client-timeout', message: 'Timed out while waiting for handshake' }, 'timeout', false],
  [{ level: 'client-timeout', message: 'Keepalive timeout' }, 'timeout', false],
  [{ code: 'ETIMEDOUT', message: 'connect ETIMEDOUT' }, 'timeout', false],
  [{ code: 'ERR_GENERIC_CLIENT', message: 'mkdir: operation timed out' }, 'timeout', false],
  [{ code: 'ECONNREFUSED', message: 'Remote host refused connection' }, 'mountfail', false],
  [{ level: 'client-dns', message: 'getaddrinfo ENOTFOUND nas' }, 'mountfail', false],
  [{ code: 'ERR_GENERIC_CLIENT', message: 'connect EHOSTUNREACH 10.0.0.9:22' }, 'mountfail', false],
  [{ code: 'ECONNRESET', message: 'Remote host has reset the connection' }, 'ioError', false],
  [{ code: 'EPIPE', message: 'write EPIPE' }, 'ioError', false],
  [{ code: 7, message: 'Connection lost' }, 'ioError', false],
  [{ code: 'ERR_GENERIC_CLIENT', message: 'fastPut: Unexpected close event' }, 'ioError', false],
  [{ code: 'ERR_NOT_CONNECTED', message: 'No SFTP connection available' }, 'ioError', false],
  [{ code: 4, message: 'Failure' }, 'ioError', false],
  [{ code: 5, message: 'Bad message' }, 'ioError', false],
  [{ code: 'ERR_GENERIC_CLIENT', message: 'something odd' }, 'ioError', false],
]);

tableSpec<SmbFault>('SMB_FAULTS (smbclient and legacy-smb2)', SMB_FAULTS, [
  [{ status: 'NT_STATUS_NO_LOGON_SERVERS' }, 'authFailed', false],
  [{ status: 'NT_STATUS_LOGON_FAILURE' }, 'authFailed', true],
  [{ status: 'NT_STATUS_WRONG_PASSWORD' }, 'authFailed', true],
  [{ status: 'NT_STATUS_ACCOUNT_LOCKED_OUT' }, 'authFailed', true],
  [{ status: 'NT_STATUS_PASSWORD_EXPIRED' }, 'authFailed', true],
  [{ status: 'NT_STATUS_NOT_SUPPORTED' }, 'authFailed', true],
  [{ status: 'NT_STATUS_INVALID_NETWORK_RESPONSE' }, 'authFailed', true],
  [{ status: 'NT_STATUS_SHARING_VIOLATION' }, 'sftpRightProblem', false],
  [{ status: 'NT_STATUS_ACCESS_DENIED' }, 'sftpRightProblem', true],
  [{ status: 'NT_STATUS_MEDIA_WRITE_PROTECTED' }, 'sftpRightProblem', true],
  [{ status: 'NT_STATUS_BAD_NETWORK_NAME' }, 'notFound', true],
  [{ status: 'NT_STATUS_OBJECT_PATH_NOT_FOUND' }, 'notFound', true],
  [{ status: 'NT_STATUS_FILE_IS_A_DIRECTORY' }, 'notFound', true],
  [{ status: 'NT_STATUS_DISK_FULL' }, 'quotaExceeded', true],
  [{ status: 'NT_STATUS_QUOTA_EXCEEDED' }, 'quotaExceeded', true],
  [{ status: 'NT_STATUS_IO_TIMEOUT' }, 'timeout', false],
  [{ errno: 'ETIMEDOUT' }, 'timeout', false],
  [{ status: 'NT_STATUS_CONNECTION_REFUSED' }, 'mountfail', false],
  [{ status: 'NT_STATUS_CONNECTION_DISCONNECTED' }, 'mountfail', false],
  [{ status: 'NT_STATUS_NETWORK_NAME_DELETED' }, 'mountfail', false],
  [{ errno: 'ECONNRESET' }, 'mountfail', false],
  [{ errno: 'ENOTFOUND' }, 'mountfail', false],
  [{ status: 'NT_STATUS_INSUFFICIENT_RESOURCES' }, 'ioError', false],
  [{ status: 'NT_STATUS_REQUEST_NOT_ACCEPTED' }, 'ioError', false],
  [{ status: 'NT_STATUS_SOMETHING_ELSE' }, 'ioError', false],
  [{ errno: 'EWHATEVER' }, 'ioError', false],
]);

tableSpec<SmtpFault>('SMTP_FAULTS (e-mail)', SMTP_FAULTS, [
  [{ code: 'EAUTH', responseCode: 454, message: 'Temporary authentication failure' }, 'authFailed', false],
  [{ code: 'EAUTH', responseCode: 535, message: 'Invalid login' }, 'authFailed', true],
  [{ code: 'ENOAUTH' }, 'authFailed', true],
  [{ code: 'EENVELOPE', responseCode: 530, message: 'Authentication required' }, 'authFailed', true],
  [{ code: 'EMESSAGE', responseCode: 552, message: 'Message exceeds fixed maximum message size' }, 'mailtobig', true],
  [{ code: 'EMESSAGE', responseCode: 554, message: 'Message size exceeds limit' }, 'mailtobig', true],
  [{ code: 'EENVELOPE', responseCode: 550, message: 'No such user' }, 'notFound', true],
  [{ code: 'EENVELOPE', message: 'No recipients defined' }, 'notFound', true],
  [{ code: 'EENVELOPE', responseCode: 553, message: 'mailbox name not allowed' }, 'notFound', true],
  [{ code: 'EENVELOPE', responseCode: 452, message: 'Insufficient system storage' }, 'quotaExceeded', false],
  [{ code: 'ETIMEDOUT', message: 'Greeting never received' }, 'timeout', false],
  [{ code: 'ETIMEDOUT', message: 'Timeout' }, 'timeout', false],
  [{ code: 'ECONNECTION', message: 'Connection timeout' }, 'timeout', false],
  [{ code: 'EPROTOCOL', responseCode: 421, message: 'Service not available' }, 'mountfail', false],
  [{ code: 'ECONNECTION', message: 'connect ECONNREFUSED 127.0.0.1:25' }, 'mountfail', false],
  [{ code: 'ESOCKET', message: 'read ECONNRESET' }, 'mountfail', false],
  [{ code: 'EDNS', message: 'getaddrinfo ENOTFOUND mail' }, 'mountfail', false],
  [{ code: 'EMESSAGE', responseCode: 451, message: 'Requested action aborted: local error' }, 'ioError', false],
  [{ code: 'EMESSAGE', responseCode: 554, message: 'Transaction failed' }, 'ioError', true],
  [{ code: 'EOTHER', message: '?' }, 'ioError', false],
]);

tableSpec<S3Fault>('S3_FAULTS', S3_FAULTS, [
  [{ name: 'QuotaExceeded', status: 403 }, 'quotaExceeded', true],
  [{ name: 'EntityTooLarge', status: 400 }, 'quotaExceeded', true],
  [{ name: 'XMinioStorageFull', status: 507 }, 'quotaExceeded', true],
  [{ name: 'Error', status: 507 }, 'quotaExceeded', true],
  [{ name: 'InvalidAccessKeyId', status: 403 }, 'authFailed', true],
  [{ name: 'SignatureDoesNotMatch', status: 403 }, 'authFailed', true],
  [{ name: 'AccessDenied', status: 403 }, 'authFailed', true],
  [{ name: 'ExpiredToken', status: 400 }, 'authFailed', true],
  [{ name: 'Forbidden', status: 403 }, 'authFailed', true],
  [{ name: 'NoSuchBucket', status: 404 }, 'notFound', true],
  [{ name: 'InvalidBucketName', status: 400 }, 'notFound', true],
  [{ name: 'InvalidRequest', status: 400, message: 'Bucket is missing Object Lock Configuration' }, 'ioError', true],
  [{ name: 'InvalidStorageClass', status: 400 }, 'ioError', true],
  [{ name: 'NotImplemented', status: 501 }, 'ioError', true],
  [{ name: 'TimeoutError', message: 'Socket timed out without establishing a connection within 20000 ms' }, 'timeout', false],
  [{ name: 'TimeoutError', message: 'the request socket timed out after 60000 ms of inactivity' }, 'timeout', false],
  [{ name: 'RequestTimeout', status: 400 }, 'timeout', false],
  [{ name: 'Error', errno: 'ETIMEDOUT' }, 'timeout', false],
  [{ name: 'AbortError', message: 'Request aborted' }, 'timeout', false],
  [{ name: 'Error', errno: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9000' }, 'mountfail', false],
  [{ name: 'Error', errno: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND minio' }, 'mountfail', false],
  [{ name: 'Error', message: 'AWS SDK error wrapper for Error: connect EHOSTUNREACH 10.0.0.9:9000' }, 'mountfail', false],
  [{ name: 'Error', errno: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'mountfail', false],
  [{ name: 'SlowDown', status: 503 }, 'ioError', false],
  [{ name: 'InternalError', status: 500 }, 'ioError', false],
  [{ name: 'Error', errno: 'ECONNRESET', message: 'socket hang up' }, 'ioError', false],
  [{ name: 'Error', message: 'something odd' }, 'ioError', false],
]);

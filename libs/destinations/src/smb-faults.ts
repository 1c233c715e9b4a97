import type { FaultRule } from './fault-table';
import { oneOf } from './fault-table';

/**
 * A failed SMB operation: the NT status smbclient printed or the legacy driver got
 * (`NT_STATUS_*`), or the legacy worker's socket errno.
 */
export interface SmbFault {
  status?: string;
  errno?: string;
}

const nt =
  (...statuses: string[]) =>
  (f: SmbFault) =>
    oneOf(...statuses.map((s) => `NT_STATUS_${s}`))(f.status);
const errno =
  (...codes: string[]) =>
  (f: SmbFault) =>
    oneOf(...codes)(f.errno);

/**
 * SMB (both drivers): NT status or errno → code, permanent or not. First match wins. Refused
 * credentials are final (retrying locks accounts); a domain controller or a file that is busy
 * right now is not.
 */
export const SMB_FAULTS: readonly FaultRule<SmbFault>[] = [
  { when: 'NT_STATUS_NO_LOGON_SERVERS (no domain controller reachable right now)', match: nt('NO_LOGON_SERVERS'), code: 'authFailed', permanent: false },
  {
    when: 'logon refused: LOGON_FAILURE, WRONG_PASSWORD, NO_SUCH_USER, ACCOUNT_DISABLED/LOCKED_OUT/RESTRICTION/EXPIRED, PASSWORD_EXPIRED/MUST_CHANGE, INVALID_LOGON_HOURS/WORKSTATION, TRUSTED_RELATIONSHIP_FAILURE, INVALID_PARAMETER_MIX',
    match: nt(
      'LOGON_FAILURE', 'WRONG_PASSWORD', 'NO_SUCH_USER', 'ACCOUNT_DISABLED', 'ACCOUNT_LOCKED_OUT', 'ACCOUNT_RESTRICTION', 'ACCOUNT_EXPIRED',
      'PASSWORD_EXPIRED', 'PASSWORD_MUST_CHANGE', 'INVALID_LOGON_HOURS', 'INVALID_WORKSTATION', 'TRUSTED_RELATIONSHIP_FAILURE', 'INVALID_PARAMETER_MIX',
    ),
    code: 'authFailed',
    permanent: true,
  },
  {
    when: 'dialect/auth/signing refused at session setup: NOT_SUPPORTED, INVALID_NETWORK_RESPONSE, NETWORK_ACCESS_DENIED_EDONTKNOW, PROTOCOL_UNREACHABLE',
    match: nt('NOT_SUPPORTED', 'INVALID_NETWORK_RESPONSE', 'NETWORK_ACCESS_DENIED_EDONTKNOW', 'PROTOCOL_UNREACHABLE'),
    code: 'authFailed',
    permanent: true,
  },
  { when: 'NT_STATUS_SHARING_VIOLATION (someone else has the file open right now)', match: nt('SHARING_VIOLATION'), code: 'sftpRightProblem', permanent: false },
  {
    when: 'no rights: ACCESS_DENIED, NETWORK_ACCESS_DENIED, MEDIA_WRITE_PROTECTED, CANNOT_DELETE',
    match: nt('ACCESS_DENIED', 'NETWORK_ACCESS_DENIED', 'MEDIA_WRITE_PROTECTED', 'CANNOT_DELETE'),
    code: 'sftpRightProblem',
    permanent: true,
  },
  {
    when: 'no such share or path: BAD_NETWORK_NAME, OBJECT_NAME/PATH_NOT_FOUND, NOT_A_DIRECTORY, FILE_IS_A_DIRECTORY, OBJECT_NAME_INVALID, NO_SUCH_FILE',
    match: nt('BAD_NETWORK_NAME', 'OBJECT_NAME_NOT_FOUND', 'OBJECT_PATH_NOT_FOUND', 'NOT_A_DIRECTORY', 'FILE_IS_A_DIRECTORY', 'OBJECT_NAME_INVALID', 'NO_SUCH_FILE'),
    code: 'notFound',
    permanent: true,
  },
  { when: 'DISK_FULL, QUOTA_EXCEEDED, ALLOTTED_SPACE_EXCEEDED', match: nt('DISK_FULL', 'QUOTA_EXCEEDED', 'ALLOTTED_SPACE_EXCEEDED'), code: 'quotaExceeded', permanent: true },
  { when: 'NT_STATUS_IO_TIMEOUT, ETIMEDOUT; no progress for the idle timeout', match: (f) => nt('IO_TIMEOUT')(f) || errno('ETIMEDOUT')(f), code: 'timeout', permanent: false },
  {
    when: 'not reachable or connection lost: CONNECTION_REFUSED/RESET/DISCONNECTED, HOST/NETWORK/PORT_UNREACHABLE, BAD_NETWORK_PATH, NETWORK_NAME_DELETED, INVALID_ADDRESS, UNSUCCESSFUL',
    match: nt(
      'CONNECTION_REFUSED', 'CONNECTION_RESET', 'CONNECTION_DISCONNECTED', 'HOST_UNREACHABLE', 'NETWORK_UNREACHABLE', 'PORT_UNREACHABLE',
      'BAD_NETWORK_PATH', 'NETWORK_NAME_DELETED', 'INVALID_ADDRESS', 'UNSUCCESSFUL',
    ),
    code: 'mountfail',
    permanent: false,
  },
  {
    when: 'legacy driver socket: ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ENOTFOUND, EAI_AGAIN, ECONNRESET, EPIPE',
    match: errno('ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE'),
    code: 'mountfail',
    permanent: false,
  },
  {
    when: 'server busy: INSUFFICIENT_RESOURCES, NETWORK_BUSY, REQUEST_NOT_ACCEPTED, TOO_MANY_OPENED_FILES',
    match: nt('INSUFFICIENT_RESOURCES', 'NETWORK_BUSY', 'REQUEST_NOT_ACCEPTED', 'TOO_MANY_OPENED_FILES'),
    code: 'ioError',
    permanent: false,
  },
  { when: 'anything else', match: () => true, code: 'ioError', permanent: false },
];

import type { DeliveryCode } from '@pbx/contracts';
import type { SmbDestinationConfig } from './destination-config';
import { DeliveryError } from './delivery';
import { smbShareSegments } from './paths';

export interface SmbTarget {
  server: string;
  port: number;
  share: string;
  /** Sub-directories inside the share, '/'-separated, no leading/trailing slash ('' = share root). */
  subdir: string;
  username: string;
  domain?: string;
}

/** Splits "share/sub/dir" (judged by the api's own rule) and "DOMAIN\\user". */
export function parseSmbTarget(config: SmbDestinationConfig): SmbTarget {
  const [share, ...sub] = smbShareSegments(config);
  if (!config.server || /[\s/\\]/.test(config.server)) throw new DeliveryError('notFound', `invalid SMB server ${JSON.stringify(config.server)}`, true);
  let username = config.username;
  let domain: string | undefined;
  const backslash = username.indexOf('\\');
  if (backslash > 0) {
    domain = username.slice(0, backslash);
    username = username.slice(backslash + 1);
  }
  return { server: config.server, port: config.port ?? 445, share, subdir: sub.join('/'), username, domain };
}

export function smbLabel(config: SmbDestinationConfig): string {
  const port = config.port && config.port !== 445 ? `:${config.port}` : '';
  return `[SMB]//${config.server}${port}/${config.share.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')}`;
}

/** NT status → delivery code (shared by both SMB drivers). */
export function ntStatusCode(status: string): Exclude<DeliveryCode, 'successful'> {
  switch (status) {
    case 'NT_STATUS_LOGON_FAILURE':
    case 'NT_STATUS_WRONG_PASSWORD':
    case 'NT_STATUS_NO_SUCH_USER':
    case 'NT_STATUS_ACCOUNT_DISABLED':
    case 'NT_STATUS_ACCOUNT_LOCKED_OUT':
    case 'NT_STATUS_ACCOUNT_RESTRICTION':
    case 'NT_STATUS_ACCOUNT_EXPIRED':
    case 'NT_STATUS_PASSWORD_EXPIRED':
    case 'NT_STATUS_PASSWORD_MUST_CHANGE':
    case 'NT_STATUS_INVALID_LOGON_HOURS':
    case 'NT_STATUS_INVALID_WORKSTATION':
    case 'NT_STATUS_TRUSTED_RELATIONSHIP_FAILURE':
    case 'NT_STATUS_NO_LOGON_SERVERS':
    case 'NT_STATUS_INVALID_PARAMETER_MIX':
    // The server refuses our dialect/auth/signing combination: a settings mismatch, not a glitch.
    case 'NT_STATUS_NOT_SUPPORTED':
    case 'NT_STATUS_INVALID_NETWORK_RESPONSE':
    case 'NT_STATUS_NETWORK_ACCESS_DENIED_EDONTKNOW':
    case 'NT_STATUS_PROTOCOL_UNREACHABLE':
      return 'authFailed';
    case 'NT_STATUS_ACCESS_DENIED':
    case 'NT_STATUS_NETWORK_ACCESS_DENIED':
    case 'NT_STATUS_MEDIA_WRITE_PROTECTED':
    case 'NT_STATUS_SHARING_VIOLATION':
    case 'NT_STATUS_CANNOT_DELETE':
      return 'sftpRightProblem';
    case 'NT_STATUS_BAD_NETWORK_NAME':
    case 'NT_STATUS_OBJECT_NAME_NOT_FOUND':
    case 'NT_STATUS_OBJECT_PATH_NOT_FOUND':
    case 'NT_STATUS_NOT_A_DIRECTORY':
    case 'NT_STATUS_OBJECT_NAME_INVALID':
    case 'NT_STATUS_NO_SUCH_FILE':
      return 'notFound';
    case 'NT_STATUS_DISK_FULL':
    case 'NT_STATUS_QUOTA_EXCEEDED':
    case 'NT_STATUS_ALLOTTED_SPACE_EXCEEDED':
      return 'quotaExceeded';
    case 'NT_STATUS_IO_TIMEOUT':
      return 'timeout';
    case 'NT_STATUS_CONNECTION_REFUSED':
    case 'NT_STATUS_HOST_UNREACHABLE':
    case 'NT_STATUS_NETWORK_UNREACHABLE':
    case 'NT_STATUS_BAD_NETWORK_PATH':
    case 'NT_STATUS_CONNECTION_RESET':
    case 'NT_STATUS_CONNECTION_DISCONNECTED':
    case 'NT_STATUS_UNSUCCESSFUL':
    case 'NT_STATUS_PORT_UNREACHABLE':
    case 'NT_STATUS_INVALID_ADDRESS':
      return 'mountfail';
    default:
      return 'ioError';
  }
}

export function smbError(status: string, detail: string): DeliveryError {
  return new DeliveryError(ntStatusCode(status), detail);
}

import type { DeliveryCode } from '@pbx/contracts';
import type { SmbDestinationConfig } from './destination-config';
import { DeliveryError } from './delivery';
import { classifyFault, type FaultRule } from './fault-table';
import { smbShareSegments } from './paths';
import { SMB_FAULTS, type SmbFault } from './smb-faults';

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

/** NT status → the SMB_FAULTS row (shared by both SMB drivers). */
export function ntStatusFault(status: string): FaultRule<SmbFault> {
  return classifyFault(SMB_FAULTS, { status });
}

/** NT status → delivery code. */
export function ntStatusCode(status: string): Exclude<DeliveryCode, 'successful'> {
  return ntStatusFault(status).code;
}

export function smbError(status: string, detail: string): DeliveryError {
  const rule = ntStatusFault(status);
  return new DeliveryError(rule.code, detail, rule.permanent);
}

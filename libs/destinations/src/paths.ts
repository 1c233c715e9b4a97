import { randomBytes } from 'node:crypto';
import { absolutePathProblems, canonicalName, portableNameProblems, relativePathProblems, sftpPathProblems, sharePathProblems } from '@pbx/contracts';
import { DeliveryError } from './delivery';
import type { DropboxDestinationConfig, LocalDestinationConfig, SftpDestinationConfig, SmbDestinationConfig, UsbDestinationConfig } from './destination-config';

/** Every adapter writes below this folder of its destination root (STARFACE's layout). */
export const BACKUP_FOLDER = 'starface-backup';

/**
 * A configuration or file name becomes one path segment on every destination kind (POSIX,
 * SMB, Dropbox). Refuse what would escape or split it instead of silently rewriting it:
 * two configurations must never end up in the same folder. The rule is the api's own
 * (@pbx/contracts portableNameProblems), so a name the api accepted is delivered. The answer
 * is the stored form (NFC): a name stored NFD by an earlier version, and the file name built
 * from it, arrive under the same bytes as every other name.
 */
export function checkSegment(kind: 'configuration name' | 'file name', value: string): string {
  return checkCanonical(portableNameProblems(canonicalName(value)), 'notFound', kind, canonicalName(value));
}

/** Throws a permanent DeliveryError listing the problems a canonical-input rule found. */
function checkCanonical(problems: string[], code: 'notFound' | 'sftpRightProblem', what: string, value: string): string {
  if (problems.length) throw new DeliveryError(code, `invalid ${what} ${JSON.stringify(value)}: ${problems.join('; ')}`, true);
  return value;
}

// Each adapter's configured folder, judged by the same rule as the api's request schema.

/** Local: the sub-folder below the local root ('' for the root itself). */
export function localSubPath(config: LocalDestinationConfig): string {
  return config.path === undefined ? '' : checkCanonical(relativePathProblems(config.path), 'sftpRightProblem', 'local path', config.path);
}

/** USB: the volume's folder name below the USB root, if one is configured. */
export function usbDeviceName(config: UsbDestinationConfig): string | undefined {
  return config.device === undefined ? undefined : checkCanonical(portableNameProblems(config.device), 'notFound', 'USB device', config.device);
}

/** SMB: the share, then its sub-folders. */
export function smbShareSegments(config: SmbDestinationConfig): [string, ...string[]] {
  const [share, ...sub] = checkCanonical(sharePathProblems(config.share), 'notFound', 'SMB share', config.share).replace(/\/$/, '').split('/');
  return [share, ...sub];
}

/** SFTP: the server folder, absolute or "." for the login folder. */
export function sftpBaseDir(config: SftpDestinationConfig): string {
  const path = config.path ?? '.';
  return checkCanonical(sftpPathProblems(path), 'notFound', 'SFTP path', path);
}

/** Dropbox: "" (the app folder) or "/some/folder" without a trailing slash. */
export function dropboxRoot(config: DropboxDestinationConfig): string {
  const path = config.path ?? '/';
  return checkCanonical(absolutePathProblems(path), 'notFound', 'Dropbox path', path).replace(/\/$/, '');
}

/** `starface-backup/<name>` — relative, '/'-separated. */
export function backupDir(configurationName: string): string {
  return `${BACKUP_FOLDER}/${checkSegment('configuration name', configurationName)}`;
}

/** `starface-backup/<name>/<file>` — the `location` every adapter reports. */
export function backupLocation(configurationName: string, fileName: string): string {
  return `${backupDir(configurationName)}/${checkSegment('file name', fileName)}`;
}

/** Name of the probe file `test()` writes and deletes. */
export function probeName(): string {
  return `.probe-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Joins '/'-separated remote path parts, dropping empty ones and duplicate slashes. */
export function joinRemote(...parts: string[]): string {
  const absolute = parts[0]?.startsWith('/') ?? false;
  const joined = parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p && p !== '.')
    .join('/');
  return absolute ? `/${joined}` : joined || '.';
}

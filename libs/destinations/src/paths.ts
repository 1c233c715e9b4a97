import { randomBytes } from 'node:crypto';
import { DeliveryError } from './delivery';

/** Every adapter writes below this folder of its destination root (STARFACE's layout). */
export const BACKUP_FOLDER = 'starface-backup';

/**
 * A configuration or file name becomes one path segment on every destination kind (POSIX,
 * SMB, Dropbox). Refuse what would escape or split it instead of silently rewriting it:
 * two configurations must never end up in the same folder.
 */
export function checkSegment(kind: 'configuration name' | 'file name', value: string): string {
  // Control characters and the characters SMB/Windows forbid in names.
  if (!value || value === '.' || value === '..' || /[/\\\x00-\x1f<>:"|?*]/.test(value) || value !== value.trim() || value.endsWith('.')) {
    throw new DeliveryError('notFound', `invalid ${kind} ${JSON.stringify(value)}: it must be a single path segment`, true);
  }
  return value;
}

/** `starface-backup/<name>` — relative, '/'-separated. */
export function backupDir(configurationName: string): string {
  return `${BACKUP_FOLDER}/${checkSegment('configuration name', configurationName)}`;
}

/** `starface-backup/<name>/<file>` — the `location` every adapter reports. */
export function backupLocation(configurationName: string, fileName: string): string {
  return `${backupDir(configurationName)}/${checkSegment('file name', fileName)}`;
}

/**
 * Temporary upload name in the same folder: hidden, unique, and recognisable so `list()`
 * can skip it and a later cleanup can remove abandoned ones.
 */
export function partialName(fileName: string): string {
  return `.${fileName}.partial-${randomBytes(6).toString('hex')}`;
}

export function isPartialName(name: string): boolean {
  return name.startsWith('.') && /\.partial-[0-9a-f]+$/.test(name);
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

/**
 * Canonical input: the rules a name or a path meets before it becomes a folder on a
 * destination. The api's request schemas and the destination adapters call these same
 * functions, so whatever one accepts the other accepts, and a stored configuration never
 * fails every run on a path the api let through.
 *
 * Every check returns the problems found as messages that follow a field name ("must not …"),
 * an empty list when the value is fine. Messages never repeat the value (it may be a secret).
 */

/** Most file systems (ext4, NTFS, SMB) and Dropbox allow 255 bytes per folder name. */
export const SEGMENT_MAX_BYTES = 255;
export const PATH_MAX_LENGTH = 1024;

// C0, DEL, C1, and the line/paragraph separators that split a name in logs and e-mails.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// Format characters are invisible: bidi overrides (U+202E) make "exe.txt" look like "txt.exe",
// zero-width ones make two identical-looking names differ.
const FORMAT = /\p{Cf}/u;
// A lone surrogate cannot be written as UTF-8; the file system would get U+FFFD instead.
const LONE_SURROGATE = /\p{Cs}/u;
// A layer that decodes URLs (a browser, a web link, a proxy) would turn these into "/", "\", ".", NUL.
const PERCENT_ENCODED = /%(2f|5c|2e|00)/i;
/** Characters Windows/SMB (and Dropbox) refuse in a file or folder name. */
const WINDOWS_FORBIDDEN = /[/\\:*?"<>|]/;
const WINDOWS_FORBIDDEN_TEXT = 'must not contain / \\ : * ? " < > |';
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;
const EDGE_SPACE = /^\s|\s$/u;

const utf8 = new TextEncoder();

/** Characters no name or path may contain, wherever it is used. */
export function textProblems(value: string): string[] {
  const problems: string[] = [];
  if (CONTROL.test(value)) problems.push('must not contain control characters');
  if (FORMAT.test(value)) problems.push('must not contain invisible formatting characters (bidi controls like U+202E, zero-width characters)');
  if (LONE_SURROGATE.test(value)) problems.push('must not contain unpaired surrogates (not valid Unicode text)');
  return problems;
}

/** What any single folder name must meet, beyond not being empty, "." or "..". */
function segmentTextProblems(segment: string): string[] {
  const problems = textProblems(segment);
  if (PERCENT_ENCODED.test(segment)) problems.push('must not contain percent-encoded separators, dots or NUL (%2F, %5C, %2E, %00)');
  if (EDGE_SPACE.test(segment)) problems.push('must not start or end with a space');
  if (utf8.encode(segment).length > SEGMENT_MAX_BYTES) problems.push(`must not have a folder name longer than ${SEGMENT_MAX_BYTES} bytes (UTF-8)`);
  return problems;
}

/**
 * A name that becomes one folder (or file) on every destination kind, Windows shares
 * included: a configuration name, a USB device, a share, a file name.
 */
export function portableNameProblems(name: string): string[] {
  if (name === '') return ['must not be empty'];
  if (name === '.' || name === '..') return ['must not be "." or ".."'];
  const problems = segmentTextProblems(name);
  if (WINDOWS_FORBIDDEN.test(name)) problems.push(WINDOWS_FORBIDDEN_TEXT);
  // Windows/SMB silently strip a trailing dot and refuse device names, which would make two
  // configurations share a folder or the upload fail on the share.
  if (name.endsWith('.')) problems.push('must not end with a dot');
  if (WINDOWS_RESERVED.test(name)) problems.push('must not be a reserved device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)');
  return problems;
}

/** One folder name of a '/'-separated path on a POSIX server or Dropbox. */
function pathSegmentProblems(segment: string): string[] {
  if (segment === '') return ['must not contain empty segments (//)'];
  if (segment === '.' || segment === '..') return ['must not contain "." or ".." segments'];
  return segmentTextProblems(segment);
}

/** Length and separator, then every '/'-separated segment (a trailing "/" is tolerated); each message once. */
function pathProblems(value: string, segments: string, check: (segment: string) => string[] = pathSegmentProblems): string[] {
  const problems: string[] = [];
  if (value.length > PATH_MAX_LENGTH) problems.push(`must be at most ${PATH_MAX_LENGTH} characters`);
  // A backslash is a separator on Windows/SMB: a path judged by "/" segments could escape there.
  if (value.includes('\\')) problems.push('must use / as separator, not \\');
  for (const segment of segments.replace(/\/$/, '').split('/')) problems.push(...check(segment));
  return [...new Set(problems)];
}

/** "a/b/c" below a root (local destinations): no leading "/". */
export function relativePathProblems(value: string): string[] {
  if (value === '') return ['must not be empty (leave it out for the top folder)'];
  if (value.startsWith('/')) return ['must be relative (no leading /)'];
  return pathProblems(value, value);
}

/** "/a/b" (Dropbox, SFTP); "/" alone is the root. */
export function absolutePathProblems(value: string): string[] {
  if (!value.startsWith('/')) return ['must be an absolute path starting with /'];
  if (value === '/') return [];
  return pathProblems(value, value.slice(1));
}

/** An SFTP path: absolute, or "." for the login folder. */
export function sftpPathProblems(value: string): string[] {
  if (value === '.') return [];
  if (!value.startsWith('/')) return ['must be an absolute path starting with /, or "." for the login folder'];
  return absolutePathProblems(value);
}

/** "share/sub/dir" on an SMB server: every segment is a Windows name. */
export function sharePathProblems(value: string): string[] {
  if (value === '') return ['must not be empty'];
  if (value.includes('\\')) return ['must be the share name, then sub-folders joined with / (not \\), e.g. backups/pbx'];
  if (value.startsWith('/')) return ['must start with the share name, not with / (e.g. backups/pbx)'];
  return pathProblems(value, value, (segment) => (segment === '' || segment === '.' || segment === '..' ? pathSegmentProblems(segment) : portableNameProblems(segment)));
}

/**
 * The form a name is stored in (NFC): "Café" typed on a Mac (NFD) and on Windows (NFC) must
 * become the same folder on every destination.
 */
export function canonicalName(name: string): string {
  return name.normalize('NFC');
}

/**
 * The uniqueness key of a name: NFC, then case-folded (upper then lower also folds "ß" and
 * "SS", final and medial sigma), so names that look alike cannot coexist. At most three
 * characters per character of the name.
 */
export function nameKey(name: string): string {
  return canonicalName(name).toUpperCase().toLowerCase().normalize('NFC');
}

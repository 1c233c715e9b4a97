import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { DeliveryError, errorMessage, ObjectLockedError, type TestReport } from './delivery';

/** A server directory and the prefix that replaces `<dir>/` in texts leaving the destinations. */
export type PathMask = readonly [dir: string, shownAs: string];

/**
 * Targets, errors and test steps leave the service in API responses and e-mails, so the server
 * paths in them are shown relative to their destination root (`/` for the root itself): errno
 * messages (ENOENT, EACCES, …) and our own carry absolute paths, and the host's directory
 * layout is nobody else's business. Both the configured and the real (symlink-free) form of
 * each directory are masked: adapters resolve symlinks before writing.
 */
export function maskServerPaths(text: string, masks: readonly PathMask[]): string {
  const variants = masks
    .flatMap(([dir, shownAs]) => [resolve(dir), realOrSame(dir)].map((d) => [d, shownAs] as const))
    .filter(([dir]) => dir !== '/')
    .sort((a, b) => b[0].length - a[0].length); // a nested directory before its parent
  let out = text;
  for (const [dir, shownAs] of variants) {
    // The directory itself, or followed by '/'; never a longer name that merely starts like it.
    const pattern = new RegExp(`${escapeRegExp(dir)}(/|(?=$|[\\s'"\`:,;)\\]]))`, 'g');
    out = out.replace(pattern, (_m, slash: string) => (slash ? shownAs : shownAs.replace(/(.)\/$/, '$1')));
  }
  return out;
}

/** The same error (code, permanence, cause) with server paths masked in its message. */
export function maskErrorPaths(err: unknown, masks: readonly PathMask[]): DeliveryError {
  // Its message holds an object key, not a server path; callers tell it by its class.
  if (err instanceof ObjectLockedError) return err;
  const code = err instanceof DeliveryError ? err.code : 'ioError';
  const permanent = err instanceof DeliveryError ? err.permanent : false;
  return new DeliveryError(code, maskServerPaths(errorMessage(err), masks), permanent, { cause: err });
}

export function maskReportPaths(report: TestReport, masks: readonly PathMask[]): TestReport {
  return { ...report, steps: report.steps.map((s) => (s.detail === undefined ? s : { ...s, detail: maskServerPaths(s.detail, masks) })) };
}

function realOrSame(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

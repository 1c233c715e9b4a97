import { randomBytes } from 'node:crypto';

/**
 * Temporary upload files: every adapter that cannot write atomically (local, USB, SFTP, SMB)
 * uploads to `.<file>.partial-<delivery tag>-<nonce>` in the target folder and renames it
 * over `<file>` when complete. The tag (12 hex digits of the delivery id) lets the next
 * attempt of the same delivery find and remove what an interrupted attempt left; the nonce
 * keeps two attempts that overlap (a redelivered message while the first still runs) from
 * writing into one file. Versions before the tag wrote `.<file>.partial-<12 hex>`.
 */
// `.sar.age`: encrypted archives (docs/encryption.md) leave the same debris.
const OUR_PARTIAL = /^\.(.+\.sar(?:\.age)?)\.partial-([0-9a-f]{12})(?:-([0-9a-f]{8}))?$/;

/**
 * A partial file nobody has written to for this long is debris of a killed attempt: no live
 * upload idles that long (the legacy SMB driver's hard limit is 6 h; the others have idle
 * timeouts of minutes), so a concurrent upload of another replica is never touched.
 */
export const PARTIAL_STALE_AFTER_MS = 12 * 3600_000;

/** 12 hex digits of the delivery id; random when a caller has no delivery (tests, tools). */
export function deliveryTag(deliveryId?: string): string {
  const hex = deliveryId?.replace(/-/g, '').toLowerCase().slice(0, 12);
  return hex && /^[0-9a-f]{12}$/.test(hex) ? hex : randomBytes(6).toString('hex');
}

/** The temp name an attempt uploads to, in the same folder as `fileName`. */
export function partialName(fileName: string, deliveryId?: string): string {
  return `.${fileName}.partial-${deliveryTag(deliveryId)}-${randomBytes(4).toString('hex')}`;
}

/** Hidden from `list()`: anything shaped like a partial upload (ours, any version). */
export function isPartialName(name: string): boolean {
  return name.startsWith('.') && /\.partial-[0-9a-f]+(-[0-9a-f]+)?$/.test(name);
}

export interface FolderEntry {
  name: string;
  /** Last write time; null when the server does not say (never judged stale then). */
  mtimeMs: number | null;
  isDir?: boolean;
}

/**
 * Which entries of `starface-backup/<name>/` an attempt removes before it writes: its own
 * delivery's earlier partials of this file (any age), and any partial of ours nobody wrote to
 * for `staleAfterMs`. Only names of exactly our pattern are ever chosen.
 */
export function debrisToRemove(
  entries: readonly FolderEntry[],
  attempt: { fileName: string; deliveryId?: string; now?: number; staleAfterMs?: number },
): string[] {
  const now = attempt.now ?? Date.now();
  const staleAfter = attempt.staleAfterMs ?? PARTIAL_STALE_AFTER_MS;
  const tag = attempt.deliveryId === undefined ? undefined : deliveryTag(attempt.deliveryId);
  return entries
    .filter((e) => {
      const m = e.isDir ? null : OUR_PARTIAL.exec(e.name);
      if (!m) return false;
      const earlierAttempt = tag !== undefined && m[1] === attempt.fileName && m[2] === tag && m[3] !== undefined;
      const stale = e.mtimeMs !== null && now - e.mtimeMs >= staleAfter;
      return earlierAttempt || stale;
    })
    .map((e) => e.name);
}

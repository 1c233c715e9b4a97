import rangeParser from 'range-parser';

/** One satisfiable byte range (inclusive ends), as parsed from a `Range` header. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeResult = { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/**
 * RFC 9110 single byte ranges: `bytes=a-b`, `bytes=a-`, `bytes=-n`, parsed by range-parser
 * (the parser express uses). Several ranges are answered with the whole file (allowed;
 * multipart is not worth it for archives). A range unit other than `bytes` is ignored (whole
 * file), as RFC 9110 §14.2 requires. Anything else malformed or outside the file is
 * unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || header.trim() === '') return { kind: 'full' };
  const eq = header.indexOf('=');
  if (eq >= 0 && header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const specs = header.slice(eq + 1).split(',');
  const parsed = rangeParser(size, header);
  if (parsed === -2) return { kind: 'unsatisfiable' };
  if (specs.length > 1) return { kind: 'full' };
  if (parsed === -1) {
    // range-parser refuses a suffix longer than the file; RFC 9110 §14.1.2 means the whole file.
    const suffix = /^\s*-(\d+)\s*$/.exec(specs[0]);
    return suffix && size > 0 && Number(suffix[1]) > size ? { kind: 'partial', range: { start: 0, end: size - 1 } } : { kind: 'unsatisfiable' };
  }
  return { kind: 'partial', range: { start: parsed[0].start, end: parsed[0].end } };
}

/** `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / 5987). */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return ascii === fileName ? `attachment; filename="${ascii}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

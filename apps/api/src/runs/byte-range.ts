/** One satisfiable byte range (inclusive ends), as parsed from a `Range` header. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeResult = { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/**
 * RFC 9110 single byte ranges: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Several ranges are
 * answered with the whole file (allowed; multipart is not worth it for archives). A range
 * unit other than `bytes` is ignored (whole file), as RFC 9110 §14.2 requires.
 * Anything else malformed or outside the file is unsatisfiable (416).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || header.trim() === '') return { kind: 'full' };
  // range-unit is an RFC 9110 token.
  const m = /^\s*([!#$%&'*+.^_`|~0-9a-z-]+)\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: 'unsatisfiable' };
  if (m[1].toLowerCase() !== 'bytes') return { kind: 'full' };
  const specs = m[2].split(',').map((s) => s.trim());
  if (specs.length > 1) return specs.every((s) => /^(\d+-\d*|-\d+)$/.test(s)) ? { kind: 'full' } : { kind: 'unsatisfiable' };
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]);
  if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'unsatisfiable' };
  if (spec[1] === '') {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(spec[1]);
  const end = spec[2] === '' ? size - 1 : Math.min(Number(spec[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || (spec[2] !== '' && Number(spec[2]) < start)) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end } };
}

/** `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266 / 5987). */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return ascii === fileName ? `attachment; filename="${ascii}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

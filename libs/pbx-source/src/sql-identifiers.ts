/** Quotes a Postgres identifier (schema or table name) for interpolation into SQL text. */
export function quoteIdent(name: string): string {
  if (!name || name.includes('\0')) throw new Error(`invalid SQL identifier: ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal; COPY cannot take bind parameters, so ids are inlined this way. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('invalid SQL literal');
  return `'${value.replace(/'/g, "''")}'`;
}

const SAFE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Selection ids are caller-supplied (usually a run id); keep them to a safe alphabet. */
export function assertSelectionId(selectionId: string): void {
  assertSafeId('archive selection id', selectionId);
}

/** Restore ids also name staging folders (`voicemail.restore-<id>`): the same safe alphabet, no `..`. */
export function assertRestoreId(restoreId: string): void {
  assertSafeId('restore id', restoreId);
  if (restoreId.includes('..')) throw new Error(`invalid restore id ${JSON.stringify(restoreId)} (no "..")`);
}

function assertSafeId(what: string, id: string): void {
  if (!SAFE_ID.test(id)) throw new Error(`invalid ${what} ${JSON.stringify(id)} (allowed: 1-128 of A-Z a-z 0-9 _ . : -)`);
}

import { DomainError, ERROR_CODES } from '@pbx/contracts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID names nothing: 404, the same as an unknown UUID. */
export function existingId(id: string, what: string): string {
  if (!UUID.test(id)) throw new DomainError(ERROR_CODES.notFound, `${what} ${JSON.stringify(id.slice(0, 64))} does not exist`);
  return id.toLowerCase();
}

export function isUuid(v: string): boolean {
  return UUID.test(v);
}

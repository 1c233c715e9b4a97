import { DomainError, ERROR_CODES } from '@pbx/contracts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID names nothing: 404, the same as an unknown UUID. */
export function existingId(id: string, what: string): string {
  if (!UUID.test(id)) throw notFound(what);
  return id.toLowerCase();
}

/**
 * 404 for something the request named. The detail never repeats the submitted value: the
 * client has it, and reflected input is what injection and enumeration probes look for.
 */
export function notFound(what: string): DomainError {
  return new DomainError(ERROR_CODES.notFound, `no such ${what}`);
}

export function isUuid(v: string): boolean {
  return UUID.test(v);
}

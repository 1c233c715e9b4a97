import { DomainError, ERROR_CODES } from '@pbx/contracts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(v: string): boolean {
  return UUID.test(v);
}

/**
 * 404 for something the request named. The detail never repeats the submitted value: the
 * client has it, and reflected input is what injection and enumeration probes look for.
 */
export function notFound(what: string): DomainError {
  return new DomainError(ERROR_CODES.notFound, `no such ${what}`);
}

import { isUuid, notFound } from '@pbx/ops';

export { isUuid, notFound };

/** A path id that is not a UUID names nothing: 404, the same as an unknown UUID. */
export function existingId(id: string, what: string): string {
  if (!isUuid(id)) throw notFound(what);
  return id.toLowerCase();
}

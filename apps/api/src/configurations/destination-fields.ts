import { z } from 'zod';
import { mustBe, SECRET_FIELDS } from '@pbx/contracts';

/**
 * Destinations in a configuration request. Each destination's schema is the contracts' union
 * (destinationSchema, patchDestinationSchema); this is what the api adds around it.
 */

export const MAX_DESTINATIONS = 16;

export function destinationListSchema<T extends z.ZodType>(item: T) {
  return z
    .array(item, { error: mustBe('a list of destinations') })
    .min(1, { error: 'must contain at least one destination' })
    .max(MAX_DESTINATIONS, { error: `must contain at most ${MAX_DESTINATIONS} destinations` });
}

/** The destination without its write-only fields (for responses and logs). */
export function withoutSecrets<T extends object>(destination: T): Partial<T> {
  const copy: Partial<T> = { ...destination };
  for (const field of SECRET_FIELDS) delete copy[field as keyof T];
  return copy;
}

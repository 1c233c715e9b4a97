import { z } from 'zod';
import { destinationSchema } from '@pbx/contracts';

const uuid = () => z.uuid({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a UUID') });

/**
 * POST /api/v1/destinations/test: a destination as it would be sent on create, or the ids of
 * a stored one (its sealed secrets are used).
 */
export const destinationTestBodySchema = z.union(
  [
    z.strictObject({ destination: destinationSchema }),
    z.strictObject({ configurationId: uuid(), destinationId: uuid() }),
  ],
  { error: (iss) => (iss.input === undefined ? 'is required' : 'must be { "destination": {…} } or { "configurationId": "…", "destinationId": "…" }') },
);
export type DestinationTestBody = z.output<typeof destinationTestBodySchema>;

export const inlineDestinationTestSchema = destinationTestBodySchema.options[0];
export const storedDestinationTestSchema = destinationTestBodySchema.options[1];

/** The branch the body means, so errors name its fields (a union would only say "invalid"). */
export function destinationTestSchemaFor(body: unknown): z.ZodType<DestinationTestBody> {
  const isInline = typeof body === 'object' && body !== null && !Array.isArray(body) && 'destination' in body;
  return isInline ? inlineDestinationTestSchema : storedDestinationTestSchema;
}

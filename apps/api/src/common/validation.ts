import { z } from 'zod';
import { DEFAULT_LANGUAGE, DomainError, ERROR_CODES, FieldError, LANGUAGES, RUN_KINDS, RUN_STATUSES } from '@pbx/contracts';

/**
 * Request validation for every api endpoint: parse with a zod schema, or throw one
 * DomainError('validation') listing EVERY bad field as `{ field, message }` with paths written
 * like `destinations[0].host`. Messages never contain the submitted value (it may be a secret).
 */
export function validate<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input, { error: fallbackMessage });
  if (result.success) return result.data;
  throw new DomainError(ERROR_CODES.validation, 'Request validation failed', issuesToFieldErrors(result.error.issues));
}

/** `['destinations', 0, 'host']` → `destinations[0].host`; the body itself is `body`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const name = String(key);
      out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? (out === '' ? name : `.${name}`) : `[${JSON.stringify(name)}]`;
    }
  }
  return out === '' ? 'body' : out;
}

export function issuesToFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const add = (field: string, message: string) => {
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    errors.push({ field, message });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      // One entry per unknown key, named where it is, so a typo points at itself.
      for (const key of issue.keys) add(formatFieldPath([...issue.path, key]), 'is not a known field');
    } else {
      add(formatFieldPath(issue.path), issue.message);
    }
  }
  return errors;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  never: 'left out',
};

/** Readable messages for schemas that did not set their own (zod's defaults are terse). */
function fallbackMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.expected === 'never') return 'is not allowed';
      return iss.input === undefined ? 'is required' : `must be ${ARTICLE[iss.expected] ?? iss.expected}`;
    case 'too_small':
      return iss.origin === 'string' ? `must be at least ${iss.minimum} characters` : iss.origin === 'array' ? `must contain at least ${iss.minimum} entries` : `must be at least ${iss.minimum}`;
    case 'too_big':
      return iss.origin === 'string' ? `must be at most ${iss.maximum} characters` : iss.origin === 'array' ? `must contain at most ${iss.maximum} entries` : `must be at most ${iss.maximum}`;
    case 'invalid_value':
      return `must be one of ${iss.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return iss.format === 'uuid' || iss.format === 'guid' ? 'must be a UUID' : iss.format === 'email' ? 'must be an e-mail address' : `must be a valid ${iss.format}`;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Query strings (values arrive as strings; numbers are coerced)

const pageNumber = z.coerce
  .number({ error: 'must be a whole number of 1 or more' })
  .int({ error: 'must be a whole number of 1 or more' })
  .min(1, { error: 'must be a whole number of 1 or more' })
  .default(1);
const pageLimit = z.coerce
  .number({ error: 'must be a whole number from 1 to 100' })
  .int({ error: 'must be a whole number from 1 to 100' })
  .min(1, { error: 'must be a whole number from 1 to 100' })
  .max(100, { error: 'must be a whole number from 1 to 100' })
  .default(20);

export const paginationShape = { page: pageNumber, limit: pageLimit };

export const paginationQuerySchema = z.strictObject(paginationShape);
export type PaginationQuery = z.output<typeof paginationQuerySchema>;

export const runsQuerySchema = z.strictObject({
  ...paginationShape,
  configurationId: z.uuid({ error: 'must be a UUID' }).optional(),
  status: z.enum(RUN_STATUSES, { error: `must be one of ${RUN_STATUSES.join(', ')}` }).optional(),
  kind: z.enum(RUN_KINDS, { error: `must be one of ${RUN_KINDS.join(', ')}` }).optional(),
});
export type RunsQuery = z.output<typeof runsQuerySchema>;

export const vocabularyQuerySchema = z.strictObject({
  lang: z.enum(LANGUAGES, { error: `must be one of ${LANGUAGES.join(', ')}` }).default(DEFAULT_LANGUAGE),
});

// Dead letters may carry names this version does not know, so these are patterns, not enums.
export const deadLettersQuerySchema = z.strictObject({
  ...paginationShape,
  queue: z.string({ error: 'must be a queue name' }).regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'must be a queue name like packer.jobs.v1' }).optional(),
  type: z.string({ error: 'must be a message type' }).regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'must be a message type like backup.due' }).optional(),
  runId: z.uuid({ error: 'must be a UUID' }).optional(),
  includeDiscarded: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((v) => v === 'true')
    .optional(),
});
export type DeadLettersQuery = z.output<typeof deadLettersQuerySchema>;

/**
 * POST /api/v1/dead-letters/replay and /discard: every open letter matching the filter. An
 * empty filter matches everything, so it is only taken together with `all: true` (the rule
 * is DeadLettersService's; the field is here so clients see it in the schema).
 */
export const deadLettersBulkBodySchema = z.strictObject(
  {
    queue: deadLettersQuerySchema.shape.queue,
    type: deadLettersQuerySchema.shape.type,
    runId: deadLettersQuerySchema.shape.runId,
    all: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: (iss) => (iss.input === undefined ? 'is required' : 'must be a JSON object') },
);
export type DeadLettersBulkBody = z.output<typeof deadLettersBulkBodySchema>;

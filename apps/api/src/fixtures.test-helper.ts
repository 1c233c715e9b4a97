import { DomainError, type FieldError } from '@pbx/contracts';
import type { z } from 'zod';
import { validate } from './common/validation';

/** Request bodies and validation checks the api specs share. Tests only (eslint.config.mjs). */

export type Body = Record<string, unknown>;

/** A destination id in the right shape that no row has. */
export const EXISTING_ID = '8d7e8a0e-9d4f-4a52-9b1f-0f4b2b8f4a11';

/** A valid daily backup configuration (core data, one local destination, action save); `over` replaces fields. */
export const configurationBody = (name: string, over: Body = {}) => ({
  name,
  reportTo: 'ops@example.com',
  interval: 'daily',
  startAt: '2026-12-01T02:30:00',
  timezone: 'Europe/Berlin',
  data: { coreData: true, cdrAndVoicemails: false, announcements: false },
  destinations: [{ type: 'local' }],
  action: 'save',
  ...over,
});

/** `body` with `change` applied; a field the change sets to undefined is left out. */
export function changed(body: Body, change: Body): Body {
  const out: Body = { ...body, ...change };
  for (const [k, v] of Object.entries(change)) if (v === undefined) delete out[k];
  return out;
}

/** The field errors of a rejected body, or [] when it is accepted. Fails on any other throw. */
export function errorsOf(schema: z.ZodType, body: unknown): FieldError[] {
  try {
    validate(schema, body);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('validation');
    return (err as DomainError).errors;
  }
}

export const fields = (errors: FieldError[]) => errors.map((e) => e.field);

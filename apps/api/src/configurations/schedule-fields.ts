import { z } from 'zod';
import { checkedString, checkStartAt, INTERVALS, isInterval, isObject, isValidTimezone, oneOf } from '@pbx/contracts';

/**
 * The schedule fields of a configuration request (interval, startAt, timezone) and their
 * cross-field rule. The startAt and zone checks are the contracts' ones, which libs/scheduling
 * reads with too: what passes here, the scheduler can read.
 */

export interface ConfigurationSchemaOptions {
  /** IANA zone used when a create request has no `timezone` (the server's zone). */
  defaultTimezone: string;
}

export type SchemaMode = 'create' | 'patch';

export const intervalField = oneOf(INTERVALS);

export const startAtField = checkedString('a date and time like 2026-12-01T02:30:00', (v) => {
  const check = checkStartAt(v);
  if (check.ok) return undefined;
  return check.problem === 'date'
    ? 'is not a valid date'
    : 'must be a local date and time like 2026-12-01T02:30 or 2026-12-01T02:30:00, or an ISO time with offset like 2026-12-01T02:30:00+01:00';
}).meta({ description: 'First automatic start and anchor of the interval: wall time in `timezone` (e.g. 2026-12-01T02:30:00) or ISO time with offset. Required unless interval is manual.' });

export const timezoneField = checkedString('an IANA time zone like Europe/Berlin', (v) =>
  isValidTimezone(v) ? undefined : 'must be an IANA time zone like Europe/Berlin or UTC',
).meta({ description: 'IANA time zone of startAt and of the schedule; defaults to the server time zone.' });

/**
 * Cross-field rules shared by backup and archive configurations. Runs even when other fields
 * failed (`when`), so one response lists every problem; it only looks at valid fields, so no
 * field gets the same complaint twice.
 *
 * "startAt must parse in timezone" needs no rule of its own: a real calendar date (field check)
 * in a valid IANA zone (field check) always resolves, a DST-gap wall time included, so
 * @pbx/scheduling's parseStartAt succeeds for every accepted body (start-at-agreement.spec.ts
 * holds us to that). Skipping luxon here keeps validation ~3x cheaper.
 */
export function scheduleRules(mode: SchemaMode) {
  return [
    (value: unknown, ctx: z.core.$RefinementCtx<unknown>) => {
      const v = isObject(value) ? value : {};
      const interval = isInterval(v.interval) ? v.interval : undefined;
      if (mode === 'create' && interval !== undefined && interval !== 'manual' && v.startAt === undefined) {
        ctx.addIssue({ code: 'custom', path: ['startAt'], message: `is required when interval is "${interval}" (only "manual" needs none)` });
      }
    },
    { when: () => true },
  ] as const;
}

/** The server's zone, refused at boot when it is not one a request could name. */
export function checkedDefaultTimezone(opts: ConfigurationSchemaOptions): string {
  if (!isValidTimezone(opts.defaultTimezone)) {
    throw new Error(`defaultTimezone "${opts.defaultTimezone}" is not a valid IANA time zone`);
  }
  return opts.defaultTimezone;
}

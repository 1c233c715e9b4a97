import { z } from 'zod';

/**
 * The schedule vocabulary: intervals, the `startAt` syntax and time zone names. The api's
 * request validation and libs/scheduling both judge a schedule with these, so a start time
 * the api accepts is one the scheduler can read.
 */

/** How often a configuration runs. `manual` never runs on its own. */
export const INTERVALS = ['manual', 'hourly', 'daily', 'weekly', 'monthly'] as const;
export const intervalSchema = z.enum(INTERVALS);
export type Interval = z.output<typeof intervalSchema>;
/** The intervals that run on their own (and so can become stale). */
export type ScheduledInterval = Exclude<Interval, 'manual'>;
export const SCHEDULED_INTERVALS = INTERVALS.filter((i): i is ScheduledInterval => i !== 'manual');
/** Nominal length of each schedule interval (a month counts as its longest, 31 days): staleness and its metric. */
export const NOMINAL_INTERVAL_MS: Readonly<Record<ScheduledInterval, number>> = { hourly: 3_600_000, daily: 86_400_000, weekly: 7 * 86_400_000, monthly: 31 * 86_400_000 };

export function isInterval(value: unknown): value is Interval {
  return typeof value === 'string' && (INTERVALS as readonly string[]).includes(value);
}

// A date AND a time, seconds and a fraction (up to nanoseconds) optional; the offset is Z or ±hh:mm / ±hhmm.
const WALL_TIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?$/;
const OFFSET = /(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$/;

/** "wall": a local wall time in the configuration's zone; "offset": an absolute time. */
export type StartAtForm = 'wall' | 'offset';

export function startAtForm(value: string): StartAtForm | undefined {
  if (WALL_TIME.test(value)) return 'wall';
  const offset = OFFSET.exec(value);
  if (offset && WALL_TIME.test(value.slice(0, offset.index))) return 'offset';
  return undefined;
}

/** The calendar date of a well-formed startAt exists (no 2026-02-30). */
function isRealDate(value: string): boolean {
  const [year, month, day] = [Number(value.slice(0, 4)), Number(value.slice(5, 7)), Number(value.slice(8, 10))];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day >= 1 && day <= days;
}

export type StartAtCheck = { ok: true; form: StartAtForm } | { ok: false; problem: 'format' | 'date' };

/**
 * The one judgement of a startAt's text. A value that passes, in a zone isValidTimezone
 * accepts, always resolves to an instant (a DST-gap wall time included).
 */
export function checkStartAt(value: string): StartAtCheck {
  const form = typeof value === 'string' ? startAtForm(value) : undefined;
  if (!form) return { ok: false, problem: 'format' };
  return isRealDate(value) ? { ok: true, form } : { ok: false, problem: 'date' };
}

// Building an Intl.DateTimeFormat costs ~0.1 ms; the set of real zones is small, so remember
// the valid ones (invalid input is unbounded and is not cached).
const knownZones = new Set<string>();

/** An IANA zone name such as Europe/Berlin or UTC (not an offset like "+01:00"). */
export function isValidTimezone(tz: string): boolean {
  if (knownZones.has(tz)) return true;
  // Intl also accepts offsets like "+01:00" on newer runtimes; the contract asks for IANA names.
  if (typeof tz !== 'string' || tz.length > 64 || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: tz });
  } catch {
    return false;
  }
  if (knownZones.size < 1000) knownZones.add(tz);
  return true;
}

import { DateTime, IANAZone } from 'luxon';
import { checkStartAt, isValidTimezone } from '@pbx/contracts';

export { isValidTimezone };

/**
 * Wall-clock times are handled as "floating" DateTimes: luxon DateTimes in UTC whose
 * fields are the local wall time. Calendar arithmetic (plus days/weeks/months, month-end
 * clamping) runs on them through luxon without any DST interference; only the final
 * wall time -> instant step looks at the zone, with rules luxon does not offer:
 *  - a wall time in a gap (spring forward) resolves to the first instant after the gap
 *    (luxon would shift it forward by the gap length instead);
 *  - a wall time occurring twice (fall back) resolves to the FIRST occurrence
 *    (luxon picks the later one).
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** The floating wall time of `instantMs` as seen in `zone`. */
export function toWallTime(instantMs: number, zone: IANAZone): DateTime {
  return DateTime.fromMillis(instantMs + zone.offset(instantMs) * MINUTE_MS, { zone: 'utc' });
}

/** Resolves a floating wall time to an instant in `zone` (gap -> end of gap, overlap -> first occurrence). */
export function resolveWallTime(wall: DateTime, zone: IANAZone): number {
  const localMs = wall.toMillis();
  // The offsets in force a day either side cover any single transition near this wall time.
  const before = zone.offset(localMs - DAY_MS);
  const after = zone.offset(localMs + DAY_MS);
  // No transition within a day either side (the common case): one reading only.
  if (before === after && zone.offset(localMs - before * MINUTE_MS) === before) return localMs - before * MINUTE_MS;
  const candidates = [...new Set([before, after, zone.offset(localMs)])]
    .map((offset) => ({ offset, instant: localMs - offset * MINUTE_MS }))
    .filter(({ offset, instant }) => zone.offset(instant) === offset)
    .map(({ instant }) => instant);
  if (candidates.length > 0) return Math.min(...candidates);

  // In a gap: the wall time read with the old offset lies after the transition, read with
  // the new offset before it. The first instant after the gap is the transition itself.
  let lo = localMs - Math.max(before, after) * MINUTE_MS; // offset here is still `before`
  let hi = localMs - Math.min(before, after) * MINUTE_MS; // offset here is already `after`
  if (zone.offset(lo) === zone.offset(hi)) return hi; // not a gap we understand; keep the old-offset reading
  const startOffset = zone.offset(lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zone.offset(mid) === startOffset) lo = mid;
    else hi = mid;
  }
  return hi;
}

export type ParsedStartAt =
  | { ok: true; /** The start as wall time in the zone. */ anchor: DateTime; utc: Date; /** Floating wall time the schedule repeats. */ wall: DateTime }
  | { ok: false; message: string };

/**
 * Parses a configuration's `startAt` in `timezone`.
 * - Without offset it is a wall time in the zone (gap -> first instant after the gap,
 *   ambiguous -> first occurrence); the schedule repeats that wall time as written.
 * - With offset the instant is kept; the schedule repeats its wall time in the zone.
 */
export function parseStartAt(startAt: string, timezone: string): ParsedStartAt {
  if (!isValidTimezone(timezone)) return { ok: false, message: `unknown time zone "${timezone}"` };
  // The syntax is the contracts' (the api validates with the same check), luxon only reads it.
  const check = checkStartAt(startAt);
  if (!check.ok) {
    const what = check.problem === 'format' ? 'a valid ISO date-time like 2026-12-01T02:30:00' : 'a valid date-time';
    return { ok: false, message: `startAt "${startAt}" is not ${what}` };
  }
  const zone = IANAZone.create(timezone);
  if (check.form === 'offset') {
    const instant = DateTime.fromISO(startAt, { setZone: true });
    if (!instant.isValid) return { ok: false, message: `startAt "${startAt}" is not a valid date-time` };
    const ms = instant.toMillis();
    return { ok: true, anchor: instant.setZone(zone), utc: new Date(ms), wall: toWallTime(ms, zone) };
  }
  const wall = DateTime.fromISO(startAt, { zone: 'utc' });
  if (!wall.isValid) return { ok: false, message: `startAt "${startAt}" is not a valid date-time` };
  const ms = resolveWallTime(wall, zone);
  return { ok: true, anchor: DateTime.fromMillis(ms, { zone }), utc: new Date(ms), wall };
}

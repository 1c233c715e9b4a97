import { IANAZone } from 'luxon';
import type { UploadWindow } from '@pbx/contracts';
import { toWallTime } from './wall-time';

/**
 * Upload windows (a configuration's `uploadWindows`): daily stretches of wall-clock time in
 * the configuration's zone when an upload may start. Wall-clock throughout, so across DST:
 *  - spring forward: a window (or its part) in the skipped hour does not exist that night; one
 *    that is still open when the clock jumps opens at the jump ("02:30"–"04:00" at 03:00);
 *  - fall back: the repeated hour is in a window both times ("02:30"–"03:00" opens twice).
 * Only the start counts: an upload that started inside a window is not stopped at its end.
 */

export type UploadWindowState = { open: true } | { open: false; opensAt: Date };

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Every window opens at least once a local day; 4 days cover a window swallowed by a DST gap. */
const HORIZON_DAYS = 4;

const minuteOfDay = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether the wall-clock time `minute` (minutes since local midnight, fractional) lies in `w` (`to` exclusive, across midnight when `to` < `from`). */
function inWindow(w: UploadWindow, minute: number): boolean {
  const from = minuteOfDay(w.from);
  const to = minuteOfDay(w.to);
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/** True when an upload may start at `instantMs` (no windows: always). */
function isOpenAt(windows: readonly UploadWindow[], zone: IANAZone, instantMs: number): boolean {
  const wall = toWallTime(instantMs, zone);
  const minute = wall.hour * 60 + wall.minute + wall.second / 60 + wall.millisecond / 60_000;
  return windows.some((w) => inWindow(w, minute));
}

/** Every instant whose wall time in `zone` is the floating `localMs` (none in a gap, two in a repeated hour). */
function instantsOf(localMs: number, zone: IANAZone): number[] {
  const offsets = new Set([zone.offset(localMs - DAY_MS), zone.offset(localMs), zone.offset(localMs + DAY_MS)]);
  return [...offsets].map((o) => localMs - o * MINUTE_MS).filter((instant) => instant + zone.offset(instant) * MINUTE_MS === localMs);
}

/** The instants in (startMs, endMs] where the zone's offset changes (hourly probes, then bisection to the millisecond). */
function offsetChanges(zone: IANAZone, startMs: number, endMs: number): number[] {
  const changes: number[] = [];
  for (let t = startMs; t < endMs; t += HOUR_MS) {
    let lo = t;
    let hi = Math.min(t + HOUR_MS, endMs);
    const before = zone.offset(lo);
    if (zone.offset(hi) === before) continue;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (zone.offset(mid) === before) lo = mid;
      else hi = mid;
    }
    changes.push(hi);
  }
  return changes;
}

/**
 * Whether an upload may start at `now` under `windows` in `timezone`, and if not, the first
 * instant after `now` when it may. Pure. An open window is entered either when the wall clock
 * reaches a window's `from` or when a DST change jumps the wall clock into a window; the
 * earliest of these candidates that is open is the answer.
 */
export function uploadWindowState(windows: readonly UploadWindow[], timezone: string, now: Date): UploadWindowState {
  if (windows.length === 0) return { open: true };
  const zone = IANAZone.create(timezone);
  const nowMs = now.getTime();
  if (isOpenAt(windows, zone, nowMs)) return { open: true };

  const today = toWallTime(nowMs, zone).startOf('day').toMillis();
  const candidates: number[] = [];
  for (let day = -1; day <= HORIZON_DAYS; day++) {
    for (const w of windows) candidates.push(...instantsOf(today + day * DAY_MS + minuteOfDay(w.from) * MINUTE_MS, zone));
  }
  candidates.push(...offsetChanges(zone, nowMs, nowMs + HORIZON_DAYS * DAY_MS));
  const opensAt = candidates.filter((c) => c > nowMs && isOpenAt(windows, zone, c)).sort((a, b) => a - b)[0];
  // Unreachable for valid windows (each opens daily); never hold a delivery forever on a zone's oddity.
  return opensAt === undefined ? { open: true } : { open: false, opensAt: new Date(opensAt) };
}

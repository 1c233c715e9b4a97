import { DateTime, IANAZone } from 'luxon';
import { InvalidScheduleError, SCHEDULE_INTERVALS, type ScheduleConfig, type ScheduleInterval } from './schedule.types';
import { parseStartAt, resolveWallTime, toWallTime } from './wall-time';

const HOUR_MS = 3_600_000;
const COMPILED_CACHE_SIZE = 1000;
const CALENDAR_UNIT = { daily: 'days', weekly: 'weeks', monthly: 'months' } as const;
const compiled = new Map<string, CompiledSchedule | null>();

/**
 * A schedule compiled once: slot n (n >= 0) is the n-th run.
 * - slot 0 is `startAt` itself;
 * - hourly: slot n = start + n elapsed hours (absolute time: DST never doubles or skips a run,
 *   runs are always exactly one hour apart);
 * - daily/weekly/monthly: the start's wall time on start date + n days/weeks/months, computed
 *   from the start (never from the previous slot), so a monthly run anchored on the 31st
 *   runs on the 28th/29th/30th of shorter months and on the 31st again when there is one;
 *   resolved in the zone with the gap/overlap rules of `resolveWallTime`.
 */
export class CompiledSchedule {
  private constructor(
    readonly interval: Exclude<ScheduleInterval, 'manual'>,
    private readonly zone: IANAZone,
    private readonly wall: DateTime,
    private readonly startMs: number,
  ) {}

  /** null for manual schedules; throws InvalidScheduleError for invalid ones. */
  static compile(config: ScheduleConfig): CompiledSchedule | null {
    // The scheduler asks about the same few configurations over and over: parse each once.
    const key = `${config.interval}\u0000${config.startAt}\u0000${config.timezone}`;
    const cached = compiled.get(key);
    if (cached !== undefined) return cached;
    const schedule = CompiledSchedule.build(config);
    if (compiled.size >= COMPILED_CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
    compiled.set(key, schedule);
    return schedule;
  }

  private static build(config: ScheduleConfig): CompiledSchedule | null {
    if (!SCHEDULE_INTERVALS.includes(config.interval)) {
      throw new InvalidScheduleError(`unknown interval "${String(config.interval)}"`);
    }
    const parsed = parseStartAt(config.startAt, config.timezone);
    if (!parsed.ok) throw new InvalidScheduleError(parsed.message);
    if (config.interval === 'manual') return null;
    return new CompiledSchedule(config.interval, IANAZone.create(config.timezone), parsed.wall, parsed.utc.getTime());
  }

  /** The instant of slot `n` (ms). */
  slotMs(n: number): number {
    if (n === 0) return this.startMs;
    switch (this.interval) {
      case 'hourly':
        return this.startMs + n * HOUR_MS;
      default:
        return resolveWallTime(this.wall.plus({ [CALENDAR_UNIT[this.interval]]: n }), this.zone);
    }
  }

  /** Index of the first slot strictly after `afterMs`. O(1): estimate by arithmetic, then settle. */
  firstIndexAfter(afterMs: number): number {
    let n = Math.max(0, this.estimateIndex(afterMs));
    // The estimate is off by at most one or two slots (DST, month lengths); settle it.
    while (n > 0 && this.slotMs(n - 1) > afterMs) n--;
    while (this.slotMs(n) <= afterMs) n++;
    return n;
  }

  /** Index of the first slot after `instantMs`, give or take one (whole units of wall time elapsed + 1). */
  private estimateIndex(instantMs: number): number {
    if (instantMs < this.startMs) return 0;
    if (this.interval === 'hourly') return Math.floor((instantMs - this.startMs) / HOUR_MS) + 1;
    const unit = CALENDAR_UNIT[this.interval];
    return Math.floor(toWallTime(instantMs, this.zone).diff(this.wall, unit).as(unit)) + 1;
  }
}

/** The first run strictly after `after` (the first run is `startAt` itself); null for manual. */
export function nextRunAt(config: ScheduleConfig, after: Date): Date | null {
  const schedule = CompiledSchedule.compile(config);
  if (!schedule) return null;
  return new Date(schedule.slotMs(schedule.firstIndexAfter(after.getTime())));
}

/** The slots in (fromExclusive, toInclusive], oldest first, at most `limit` of them. */
export function slotsBetween(config: ScheduleConfig, fromExclusive: Date, toInclusive: Date, limit = 1000): Date[] {
  const schedule = CompiledSchedule.compile(config);
  if (!schedule) return [];
  const slots: Date[] = [];
  const toMs = toInclusive.getTime();
  for (let n = schedule.firstIndexAfter(fromExclusive.getTime()); slots.length < limit; n++) {
    const ms = schedule.slotMs(n);
    if (ms > toMs) break;
    slots.push(new Date(ms));
  }
  return slots;
}

/** How many slots lie in (fromExclusive, toInclusive], without listing them. */
export function countSlotsBetween(config: ScheduleConfig, fromExclusive: Date, toInclusive: Date): number {
  const schedule = CompiledSchedule.compile(config);
  if (!schedule || toInclusive.getTime() <= fromExclusive.getTime()) return 0;
  return schedule.firstIndexAfter(toInclusive.getTime()) - schedule.firstIndexAfter(fromExclusive.getTime());
}

/** The latest slot at or before `instant`; null if the schedule has not started (or is manual). */
export function latestSlotAtOrBefore(config: ScheduleConfig, instant: Date): Date | null {
  const schedule = CompiledSchedule.compile(config);
  if (!schedule) return null;
  const n = schedule.firstIndexAfter(instant.getTime()) - 1;
  return n < 0 ? null : new Date(schedule.slotMs(n));
}

export interface CatchUpPlan {
  /** Slots in (lastSlotAt, now] that never ran. */
  missed: number;
  /** The newest missed slot: the one catch-up run stands for all missed slots. */
  catchUpSlot: Date | null;
  /** The next regular slot strictly after `now`. */
  next: Date | null;
}

/**
 * After downtime the scheduler runs ONE catch-up for all missed slots, then continues on
 * the grid. `lastSlotAt` is the last slot the scheduler handled (null: none yet, in which
 * case slots since `startAt` count as missed).
 */
export function planCatchUp(config: ScheduleConfig, lastSlotAt: Date | null, now: Date): CatchUpPlan {
  const schedule = CompiledSchedule.compile(config);
  if (!schedule) return { missed: 0, catchUpSlot: null, next: null };
  const nowMs = now.getTime();
  const firstPending = lastSlotAt ? schedule.firstIndexAfter(lastSlotAt.getTime()) : 0;
  const nextIndex = schedule.firstIndexAfter(nowMs);
  const missed = Math.max(0, nextIndex - firstPending);
  return {
    missed,
    catchUpSlot: missed > 0 ? new Date(schedule.slotMs(nextIndex - 1)) : null,
    next: new Date(schedule.slotMs(nextIndex)),
  };
}

import fc from 'fast-check';
import { DateTime } from 'luxon';
import { latestSlotAtOrBefore, nextRunAt, parseStartAt, type ScheduleConfig } from './index';

const ZONES = [
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/St_Johns', // -03:30 with DST
  'America/Santiago', // DST change at midnight
  'America/Sao_Paulo',
  'America/Havana', // DST change at midnight/01:00
  'Australia/Lord_Howe', // 30-minute DST
  'Australia/Sydney',
  'Pacific/Chatham', // +12:45 / +13:45
  'Asia/Kathmandu', // +05:45
  'Asia/Tehran', // +03:30
  'Asia/Kolkata',
  'Africa/Casablanca', // two changes a year around Ramadan
  'UTC',
];
const HOUR_MS = 3_600_000;
const YEAR_MS = 366 * 24 * HOUR_MS;

const configArb = fc.record({
  interval: fc.constantFrom('hourly' as const, 'daily' as const, 'weekly' as const, 'monthly' as const),
  timezone: fc.constantFrom(...ZONES),
  startAt: fc
    .record({
      year: fc.integer({ min: 2021, max: 2032 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      // Night hours are where DST changes happen: weight them.
      hour: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 23 })),
      minute: fc.constantFrom(0, 15, 30, 45, 59, 7),
    })
    .map(({ year, month, day, hour, minute }) => {
      const d = DateTime.fromObject({ year, month, day: Math.min(day, DateTime.utc(year, month).daysInMonth ?? 28), hour, minute }, { zone: 'utc' });
      return d.toISO({ includeOffset: false, suppressMilliseconds: true }) as string;
    }),
});

type Wall = { year: number; month: number; day: number; hour: number; minute: number; second: number };
const wallOf = (ms: number, zone: string): Wall => {
  const d = DateTime.fromMillis(ms, { zone });
  return { year: d.year, month: d.month, day: d.day, hour: d.hour, minute: d.minute, second: d.second };
};
const sameTime = (a: Wall, b: Wall) => a.hour === b.hour && a.minute === b.minute && a.second === b.second;
const floating = (w: Wall) => DateTime.fromObject(w, { zone: 'utc' });

/** Checks that `slot` carries the anchor's wall time, or is the end of a gap that swallowed it. */
function assertWallTime(slotMs: number, anchor: Wall, zone: string): void {
  const w = wallOf(slotMs, zone);
  if (sameTime(w, anchor)) {
    // Fall back: the wall time may occur twice; the slot must be the first occurrence.
    for (const shift of [30, 60, 120].map((m) => m * 60_000)) {
      const earlier = wallOf(slotMs - shift, zone);
      expect(sameTime(earlier, anchor) && earlier.day === w.day).toBe(false);
    }
    return;
  }
  // Otherwise the anchor's wall time did not exist that day: the slot is the first instant
  // after the gap (the offset changed at exactly this instant) and the wanted time lies in the gap.
  const zoneOffsetAt = (ms: number) => DateTime.fromMillis(ms, { zone }).offset;
  expect(zoneOffsetAt(slotMs - 1)).not.toBe(zoneOffsetAt(slotMs));
  const wanted = floating({ ...w, hour: anchor.hour, minute: anchor.minute, second: anchor.second });
  const gapStart = floating(wallOf(slotMs - 1, zone)).toMillis();
  expect(wanted.toMillis()).toBeGreaterThan(gapStart);
  expect(wanted.toMillis()).toBeLessThan(floating(w).toMillis());
}

/** Checks that `next` is exactly one interval after `prev` on the grid (no slot skipped). */
function assertOneStep(cfg: ScheduleConfig, prevMs: number, nextMs: number, anchor: Wall): void {
  if (cfg.interval === 'hourly') {
    expect(nextMs - prevMs).toBe(HOUR_MS);
    return;
  }
  const a = floating(wallOf(prevMs, cfg.timezone)).startOf('day');
  const b = floating(wallOf(nextMs, cfg.timezone)).startOf('day');
  if (cfg.interval === 'daily') expect(b.diff(a, 'days').days).toBe(1);
  if (cfg.interval === 'weekly') expect(b.diff(a, 'days').days).toBe(7);
  if (cfg.interval === 'monthly') {
    expect((b.year - a.year) * 12 + b.month - a.month).toBe(1);
    expect(b.day).toBe(Math.min(anchor.day, b.daysInMonth ?? 0));
  }
}

describe('schedule properties', () => {
  it('next run: strictly after, on the grid, first such slot; iterating a year neither repeats nor skips', () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: -40 * 24, max: 6 * 365 * 24 }), fc.integer({ min: 0, max: HOUR_MS - 1 }), (cfg, hours, extraMs) => {
        const parsed = parseStartAt(cfg.startAt, cfg.timezone);
        if (!parsed.ok) throw new Error(parsed.message);
        const startMs = parsed.utc.getTime();
        const anchor = { ...(parsed.wall.toObject() as Wall) };
        const after = new Date(startMs + hours * HOUR_MS + extraMs);

        const first = nextRunAt(cfg, after);
        expect(first).not.toBeNull();
        const firstMs = (first as Date).getTime();
        expect(firstMs).toBeGreaterThan(after.getTime());
        if (after.getTime() < startMs) expect(firstMs).toBe(startMs);
        // Minimal: the latest slot at or before `after` is one step before `first`.
        const prev = latestSlotAtOrBefore(cfg, after);
        if (prev) {
          expect(prev.getTime()).toBeLessThanOrEqual(after.getTime());
          assertOneStep(cfg, prev.getTime(), firstMs, anchor);
        } else {
          expect(firstMs).toBe(startMs);
        }
        expect(latestSlotAtOrBefore(cfg, first as Date)?.getTime()).toBe(firstMs);

        // Walk a year (hourly: a week) next-from-previous.
        const horizon = firstMs + (cfg.interval === 'hourly' ? 8 * 24 * HOUR_MS : YEAR_MS);
        const seen = new Set<number>();
        let current = firstMs;
        for (;;) {
          expect(seen.has(current)).toBe(false);
          seen.add(current);
          if (cfg.interval === 'hourly') expect((current - startMs) % HOUR_MS).toBe(0);
          else if (current !== startMs) assertWallTime(current, anchor, cfg.timezone);
          if (cfg.interval === 'weekly') {
            const wd = DateTime.fromMillis(current, { zone: cfg.timezone }).weekday;
            expect(wd).toBe(floating(anchor).weekday);
          }
          if (current > horizon) break;
          const next = (nextRunAt(cfg, new Date(current)) as Date).getTime();
          expect(next).toBeGreaterThan(current);
          assertOneStep(cfg, current, next, anchor);
          current = next;
        }
      }),
      { numRuns: 60 },
    );
  });
});

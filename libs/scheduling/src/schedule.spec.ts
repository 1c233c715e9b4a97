import { DateTime } from 'luxon';
import {
  countSlotsBetween,
  InvalidScheduleError,
  isValidTimezone,
  latestSlotAtOrBefore,
  nextRunAt,
  parseStartAt,
  planCatchUp,
  slotsBetween,
  type ScheduleConfig,
} from './index';

const iso = (s: string) => new Date(s);
const utc = (d: Date | null) => d?.toISOString() ?? null;
/** The instant shown as wall time with offset in `zone`, e.g. "2026-03-29T03:00:00.000+02:00". */
const local = (d: Date | null, zone: string) => (d ? DateTime.fromJSDate(d, { zone }).toISO() : null);

/** Runs next-from-previous from just before the start, `count` times. */
function iterate(config: ScheduleConfig, count: number, from = new Date(0)): Date[] {
  const out: Date[] = [];
  let after = from;
  for (let i = 0; i < count; i++) {
    const next = nextRunAt(config, after);
    if (!next) break;
    out.push(next);
    after = next;
  }
  return out;
}

describe('parseStartAt', () => {
  it('reads a local wall time in the zone', () => {
    const r = parseStartAt('2026-12-01T02:30:00', 'Europe/Berlin');
    expect(r.ok && r.utc.toISOString()).toBe('2026-12-01T01:30:00.000Z');
    expect(r.ok && r.anchor.zoneName).toBe('Europe/Berlin');
  });

  it('keeps the instant of a time with offset and converts it to the zone', () => {
    const r = parseStartAt('2026-12-01T02:30:00+00:00', 'Europe/Berlin');
    expect(r.ok && r.utc.toISOString()).toBe('2026-12-01T02:30:00.000Z');
    expect(r.ok && r.anchor.toISO()).toBe('2026-12-01T03:30:00.000+01:00');
    const z = parseStartAt('2026-12-01T02:30:00Z', 'America/New_York');
    expect(z.ok && z.anchor.toISO()).toBe('2026-11-30T21:30:00.000-05:00');
  });

  it('resolves a wall time in the spring-forward gap to the first instant after it', () => {
    const r = parseStartAt('2026-03-29T02:30:00', 'Europe/Berlin');
    expect(r.ok && r.anchor.toISO()).toBe('2026-03-29T03:00:00.000+02:00');
    const lh = parseStartAt('2026-10-04T02:10:00', 'Australia/Lord_Howe');
    expect(lh.ok && lh.anchor.toISO()).toBe('2026-10-04T02:30:00.000+11:00');
  });

  it('resolves an ambiguous fall-back wall time to its first occurrence', () => {
    const r = parseStartAt('2026-10-25T02:30:00', 'Europe/Berlin');
    expect(r.ok && r.anchor.toISO()).toBe('2026-10-25T02:30:00.000+02:00');
    const lh = parseStartAt('2026-04-05T01:45:00', 'Australia/Lord_Howe');
    expect(lh.ok && lh.anchor.toISO()).toBe('2026-04-05T01:45:00.000+11:00');
  });

  it.each([
    ['2026-12-01T02:30:00', 'Mars/Olympus', /time zone/],
    ['2026-12-01', 'Europe/Berlin', /ISO date-time/],
    ['yesterday', 'Europe/Berlin', /ISO date-time/],
    ['2026-02-30T02:30:00', 'Europe/Berlin', /not a valid/],
    ['2026-12-01T25:30:00', 'Europe/Berlin', /not a valid/],
  ])('rejects %s in %s', (startAt, tz, message) => {
    const r = parseStartAt(startAt, tz);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(message);
  });

  it('knows valid zones', () => {
    expect(isValidTimezone('Australia/Lord_Howe')).toBe(true);
    expect(isValidTimezone('UTC')).toBe(true);
    expect(isValidTimezone('Europe/Nowhere')).toBe(false);
    expect(isValidTimezone('')).toBe(false);
  });
});

describe('nextRunAt', () => {
  const berlinDaily: ScheduleConfig = { interval: 'daily', startAt: '2026-03-27T02:30:00', timezone: 'Europe/Berlin' };

  it('returns null for manual and throws on invalid configurations', () => {
    expect(nextRunAt({ interval: 'manual', startAt: '2026-01-01T00:00:00', timezone: 'UTC' }, new Date())).toBeNull();
    expect(() => nextRunAt({ ...berlinDaily, timezone: 'Nope/Nope' }, new Date())).toThrow(InvalidScheduleError);
    expect(() => nextRunAt({ ...berlinDaily, interval: 'yearly' as never }, new Date())).toThrow(InvalidScheduleError);
  });

  it('starts with startAt itself and is strictly after `after`', () => {
    const start = iso('2026-03-27T01:30:00Z');
    expect(utc(nextRunAt(berlinDaily, iso('2020-01-01T00:00:00Z')))).toBe(start.toISOString());
    expect(utc(nextRunAt(berlinDaily, new Date(start.getTime() - 1)))).toBe(start.toISOString());
    expect(utc(nextRunAt(berlinDaily, start))).toBe('2026-03-28T01:30:00.000Z');
  });

  it('daily 02:30 in Berlin runs at 03:00 on spring-forward day, then 02:30 again', () => {
    expect(iterate(berlinDaily, 4).map((d) => local(d, 'Europe/Berlin'))).toEqual([
      '2026-03-27T02:30:00.000+01:00',
      '2026-03-28T02:30:00.000+01:00',
      '2026-03-29T03:00:00.000+02:00',
      '2026-03-30T02:30:00.000+02:00',
    ]);
  });

  it('daily 02:30 in Berlin runs once on fall-back day (first occurrence)', () => {
    const cfg: ScheduleConfig = { interval: 'daily', startAt: '2026-10-24T02:30:00', timezone: 'Europe/Berlin' };
    const runs = iterate(cfg, 3);
    expect(runs.map((d) => local(d, 'Europe/Berlin'))).toEqual([
      '2026-10-24T02:30:00.000+02:00',
      '2026-10-25T02:30:00.000+02:00',
      '2026-10-26T02:30:00.000+01:00',
    ]);
    // Asked from between the two 02:30s: the second one is not a slot.
    expect(local(nextRunAt(cfg, iso('2026-10-25T00:45:00Z')), 'Europe/Berlin')).toBe('2026-10-26T02:30:00.000+01:00');
  });

  it('daily in New York across both changes', () => {
    const spring: ScheduleConfig = { interval: 'daily', startAt: '2026-03-07T02:15:00', timezone: 'America/New_York' };
    expect(iterate(spring, 3).map((d) => local(d, 'America/New_York'))).toEqual([
      '2026-03-07T02:15:00.000-05:00',
      '2026-03-08T03:00:00.000-04:00',
      '2026-03-09T02:15:00.000-04:00',
    ]);
    const fall: ScheduleConfig = { interval: 'daily', startAt: '2026-10-31T01:30:00', timezone: 'America/New_York' };
    expect(iterate(fall, 3).map((d) => local(d, 'America/New_York'))).toEqual([
      '2026-10-31T01:30:00.000-04:00',
      '2026-11-01T01:30:00.000-04:00',
      '2026-11-02T01:30:00.000-05:00',
    ]);
  });

  it('daily in Lord Howe across its 30-minute changes', () => {
    const spring: ScheduleConfig = { interval: 'daily', startAt: '2026-10-03T02:15:00', timezone: 'Australia/Lord_Howe' };
    expect(iterate(spring, 3).map((d) => local(d, 'Australia/Lord_Howe'))).toEqual([
      '2026-10-03T02:15:00.000+10:30',
      '2026-10-04T02:30:00.000+11:00',
      '2026-10-05T02:15:00.000+11:00',
    ]);
    const fall: ScheduleConfig = { interval: 'daily', startAt: '2026-04-04T01:45:00', timezone: 'Australia/Lord_Howe' };
    expect(iterate(fall, 3).map((d) => local(d, 'Australia/Lord_Howe'))).toEqual([
      '2026-04-04T01:45:00.000+11:00',
      '2026-04-05T01:45:00.000+11:00',
      '2026-04-06T01:45:00.000+10:30',
    ]);
  });

  it('weekly keeps weekday and wall time across DST', () => {
    const cfg: ScheduleConfig = { interval: 'weekly', startAt: '2026-03-15T02:30:00', timezone: 'Europe/Berlin' }; // Sunday
    const runs = iterate(cfg, 4).map((d) => DateTime.fromJSDate(d, { zone: 'Europe/Berlin' }));
    expect(runs.map((d) => d.toISO())).toEqual([
      '2026-03-15T02:30:00.000+01:00',
      '2026-03-22T02:30:00.000+01:00',
      '2026-03-29T03:00:00.000+02:00',
      '2026-04-05T02:30:00.000+02:00',
    ]);
    expect(runs.every((d) => d.weekday === 7)).toBe(true);
    const fall: ScheduleConfig = { interval: 'weekly', startAt: '2026-10-18T09:00:00', timezone: 'America/New_York' };
    expect(iterate(fall, 3).map((d) => local(d, 'America/New_York'))).toEqual([
      '2026-10-18T09:00:00.000-04:00',
      '2026-10-25T09:00:00.000-04:00',
      '2026-11-01T09:00:00.000-05:00',
    ]);
  });

  it('monthly on the 31st clamps to month end and returns to the 31st', () => {
    const cfg: ScheduleConfig = { interval: 'monthly', startAt: '2026-01-31T02:30:00', timezone: 'Europe/Berlin' };
    expect(iterate(cfg, 6).map((d) => local(d, 'Europe/Berlin'))).toEqual([
      '2026-01-31T02:30:00.000+01:00',
      '2026-02-28T02:30:00.000+01:00',
      '2026-03-31T02:30:00.000+02:00',
      '2026-04-30T02:30:00.000+02:00',
      '2026-05-31T02:30:00.000+02:00',
      '2026-06-30T02:30:00.000+02:00',
    ]);
  });

  it('monthly on the 30th runs on Feb 29 in a leap year', () => {
    const cfg: ScheduleConfig = { interval: 'monthly', startAt: '2027-12-30T08:00:00', timezone: 'UTC' };
    expect(iterate(cfg, 4).map(utc)).toEqual([
      '2027-12-30T08:00:00.000Z',
      '2028-01-30T08:00:00.000Z',
      '2028-02-29T08:00:00.000Z',
      '2028-03-30T08:00:00.000Z',
    ]);
  });

  it('monthly anchored on Feb 29 2028 runs on the 29th, and on Feb 28 / Feb 29 in later years', () => {
    const cfg: ScheduleConfig = { interval: 'monthly', startAt: '2028-02-29T12:00:00', timezone: 'Europe/Berlin' };
    const runs = slotsBetween(cfg, new Date(0), iso('2032-03-01T00:00:00Z'), 100).map((d) => local(d, 'Europe/Berlin'));
    expect(runs.slice(0, 3)).toEqual(['2028-02-29T12:00:00.000+01:00', '2028-03-29T12:00:00.000+02:00', '2028-04-29T12:00:00.000+02:00']);
    // The yearly cadence of a monthly schedule: every 12th slot.
    expect([runs[12], runs[24], runs[36], runs[48]]).toEqual([
      '2029-02-28T12:00:00.000+01:00',
      '2030-02-28T12:00:00.000+01:00',
      '2031-02-28T12:00:00.000+01:00',
      '2032-02-29T12:00:00.000+01:00',
    ]);
    expect(runs).toHaveLength(49);
  });

  it('hourly runs every elapsed hour across spring forward (no skip) and fall back (no double)', () => {
    const cfg: ScheduleConfig = { interval: 'hourly', startAt: '2026-03-29T00:15:00', timezone: 'Europe/Berlin' };
    expect(iterate(cfg, 4).map((d) => local(d, 'Europe/Berlin'))).toEqual([
      '2026-03-29T00:15:00.000+01:00',
      '2026-03-29T01:15:00.000+01:00',
      '2026-03-29T03:15:00.000+02:00',
      '2026-03-29T04:15:00.000+02:00',
    ]);
    const fall: ScheduleConfig = { interval: 'hourly', startAt: '2026-10-25T01:15:00', timezone: 'Europe/Berlin' };
    const runs = iterate(fall, 4);
    expect(runs.map((d) => local(d, 'Europe/Berlin'))).toEqual([
      '2026-10-25T01:15:00.000+02:00',
      '2026-10-25T02:15:00.000+02:00',
      '2026-10-25T02:15:00.000+01:00',
      '2026-10-25T03:15:00.000+01:00',
    ]);
    // Distinct instants exactly one hour apart: neither doubled nor skipped.
    expect(runs.slice(1).map((d, i) => d.getTime() - runs[i].getTime())).toEqual([3_600_000, 3_600_000, 3_600_000]);
  });

  it('hourly in Lord Howe keeps the hour spacing; the local minute moves by the 30-minute shift', () => {
    const cfg: ScheduleConfig = { interval: 'hourly', startAt: '2026-10-04T00:15:00', timezone: 'Australia/Lord_Howe' };
    expect(iterate(cfg, 4).map((d) => local(d, 'Australia/Lord_Howe'))).toEqual([
      '2026-10-04T00:15:00.000+10:30',
      '2026-10-04T01:15:00.000+10:30',
      '2026-10-04T02:45:00.000+11:00',
      '2026-10-04T03:45:00.000+11:00',
    ]);
  });
});

describe('catch-up helpers', () => {
  const hourly: ScheduleConfig = { interval: 'hourly', startAt: '2020-01-01T00:05:00', timezone: 'Europe/Berlin' };

  it('jumps over years of missed hourly slots without scanning them', () => {
    const from = iso('2020-06-01T00:00:00Z');
    const to = iso('2026-06-01T00:00:00Z');
    const started = performance.now();
    const count = countSlotsBetween(hourly, from, to);
    const latest = latestSlotAtOrBefore(hourly, to);
    const next = nextRunAt(hourly, to);
    expect(performance.now() - started).toBeLessThan(200);
    expect(count).toBe((to.getTime() - from.getTime()) / 3_600_000);
    expect(utc(latest)).toBe('2026-05-31T23:05:00.000Z');
    expect(utc(next)).toBe('2026-06-01T00:05:00.000Z');
  });

  it('slotsBetween is (from, to], ordered and limited', () => {
    const daily: ScheduleConfig = { interval: 'daily', startAt: '2026-01-01T06:00:00', timezone: 'UTC' };
    expect(slotsBetween(daily, iso('2026-01-02T06:00:00Z'), iso('2026-01-05T06:00:00Z'), 10).map(utc)).toEqual([
      '2026-01-03T06:00:00.000Z',
      '2026-01-04T06:00:00.000Z',
      '2026-01-05T06:00:00.000Z',
    ]);
    expect(slotsBetween(daily, iso('2026-01-02T06:00:00Z'), iso('2026-12-31T00:00:00Z'), 2)).toHaveLength(2);
    expect(slotsBetween(daily, iso('2025-01-01T00:00:00Z'), iso('2025-12-31T00:00:00Z'), 10)).toEqual([]);
    expect(latestSlotAtOrBefore(daily, iso('2025-12-31T00:00:00Z'))).toBeNull();
    expect(utc(latestSlotAtOrBefore(daily, iso('2026-01-04T06:00:00Z')))).toBe('2026-01-04T06:00:00.000Z');
  });

  it('planCatchUp: one catch-up for all missed slots, then the grid', () => {
    const daily: ScheduleConfig = { interval: 'daily', startAt: '2026-01-01T06:00:00', timezone: 'UTC' };
    expect(planCatchUp(daily, iso('2026-01-03T06:00:00Z'), iso('2026-01-07T12:00:00Z'))).toEqual({
      missed: 4,
      catchUpSlot: iso('2026-01-07T06:00:00Z'),
      next: iso('2026-01-08T06:00:00Z'),
    });
    expect(planCatchUp(daily, iso('2026-01-07T06:00:00Z'), iso('2026-01-07T12:00:00Z'))).toEqual({
      missed: 0,
      catchUpSlot: null,
      next: iso('2026-01-08T06:00:00Z'),
    });
    expect(planCatchUp(daily, null, iso('2026-01-02T07:00:00Z')).missed).toBe(2);
    expect(planCatchUp({ ...daily, interval: 'manual' }, null, new Date())).toEqual({ missed: 0, catchUpSlot: null, next: null });
  });
});

import { DateTime } from 'luxon';
import { planClaim, type ClaimPlan, type DueSchedule } from './claim-plan';

const at = (iso: string) => new Date(iso);
const plus = (d: Date, ms: number) => new Date(d.getTime() + ms);
const MIN = 60_000;
const HOUR = 60 * MIN;

function emitted(plan: ClaimPlan) {
  if (plan.action !== 'emit') throw new Error(`expected emit, got ${JSON.stringify(plan)}`);
  return { scheduledFor: plan.emit.scheduledFor.toISOString(), catchUp: plan.emit.catchUp, slots: plan.emit.slots, next: plan.nextRunAt.toISOString() };
}

describe('planClaim', () => {
  const hourly: DueSchedule = { interval: 'hourly', startAt: '2026-05-01T00:10:00Z', timezone: 'Europe/Berlin', nextRunAt: at('2026-05-04T08:10:00Z') };

  it('an on-time slot is a normal run and the schedule moves to the next slot', () => {
    expect(emitted(planClaim(hourly, plus(hourly.nextRunAt, 300)))).toEqual({
      scheduledFor: '2026-05-04T08:10:00.000Z',
      catchUp: false,
      slots: 1,
      next: '2026-05-04T09:10:00.000Z',
    });
  });

  it('a slot exactly at now is due (inclusive)', () => {
    expect(emitted(planClaim(hourly, hourly.nextRunAt)).scheduledFor).toBe('2026-05-04T08:10:00.000Z');
  });

  it('a slot late within the grace is still a normal run; past the grace it is a catch-up', () => {
    expect(emitted(planClaim(hourly, plus(hourly.nextRunAt, 59_000), 60_000)).catchUp).toBe(false);
    expect(emitted(planClaim(hourly, plus(hourly.nextRunAt, 60_000), 60_000)).catchUp).toBe(false);
    expect(emitted(planClaim(hourly, plus(hourly.nextRunAt, 61_000), 60_000)).catchUp).toBe(true);
    // The grace is configurable.
    expect(emitted(planClaim(hourly, plus(hourly.nextRunAt, 5 * MIN), 10 * MIN)).catchUp).toBe(false);
    expect(emitted(planClaim(hourly, plus(hourly.nextRunAt, 5 * MIN), 1000)).catchUp).toBe(true);
  });

  it('three missed slots become ONE catch-up run for the newest of them; the grid is kept', () => {
    // Down from 08:10 to 10:40: slots 08:10, 09:10, 10:10 never ran.
    expect(emitted(planClaim(hourly, at('2026-05-04T10:40:00Z')))).toEqual({
      scheduledFor: '2026-05-04T10:10:00.000Z',
      catchUp: true,
      slots: 3,
      next: '2026-05-04T11:10:00.000Z',
    });
  });

  it('several missed slots are a catch-up even when the newest is on time', () => {
    const plan = emitted(planClaim(hourly, at('2026-05-04T10:10:05Z')));
    expect(plan).toMatchObject({ scheduledFor: '2026-05-04T10:10:00.000Z', catchUp: true, slots: 3 });
  });

  it('years of downtime cost the same as one hour', () => {
    const started = performance.now();
    const plan = emitted(planClaim(hourly, at('2031-05-04T10:40:00Z')));
    expect(performance.now() - started).toBeLessThan(100);
    expect(plan.scheduledFor).toBe('2031-05-04T10:10:00.000Z');
    expect(plan.next).toBe('2031-05-04T11:10:00.000Z');
    expect(plan.slots).toBe(Math.round((at('2031-05-04T10:10:00Z').getTime() - hourly.nextRunAt.getTime()) / HOUR) + 1);
  });

  it('daily in Berlin: catch-up across spring forward picks the 03:00 gap slot and continues at 02:30', () => {
    const daily: DueSchedule = { interval: 'daily', startAt: '2026-03-20T02:30:00', timezone: 'Europe/Berlin', nextRunAt: at('2026-03-27T01:30:00Z') };
    // Down from before 27th 02:30 CET until 29th 05:00 CEST: slots 27th, 28th, 29th (03:00 CEST).
    const plan = emitted(planClaim(daily, at('2026-03-29T03:00:00Z')));
    expect(DateTime.fromISO(plan.scheduledFor, { zone: 'Europe/Berlin' }).toISO()).toBe('2026-03-29T03:00:00.000+02:00');
    expect(DateTime.fromISO(plan.next, { zone: 'Europe/Berlin' }).toISO()).toBe('2026-03-30T02:30:00.000+02:00');
    expect(plan).toMatchObject({ catchUp: true, slots: 3 });
  });

  it('monthly on the 31st clamps the next slot to the month end', () => {
    const monthly: DueSchedule = { interval: 'monthly', startAt: '2026-01-31T02:30:00', timezone: 'UTC', nextRunAt: at('2026-01-31T02:30:00Z') };
    expect(emitted(planClaim(monthly, at('2026-01-31T02:30:01Z')))).toMatchObject({ catchUp: false, next: '2026-02-28T02:30:00.000Z' });
  });

  it('weekly keeps its weekday after a catch-up', () => {
    const weekly: DueSchedule = { interval: 'weekly', startAt: '2026-06-07T09:00:00', timezone: 'America/New_York', nextRunAt: at('2026-06-07T13:00:00Z') };
    const plan = emitted(planClaim(weekly, at('2026-06-25T00:00:00Z')));
    expect(plan).toMatchObject({ scheduledFor: '2026-06-21T13:00:00.000Z', catchUp: true, slots: 3, next: '2026-06-28T13:00:00.000Z' });
  });

  it('a stored next_run_at off the grid with no slot since: re-aligned without a run', () => {
    const off = { ...hourly, nextRunAt: at('2026-05-04T08:30:00Z') };
    expect(planClaim(off, at('2026-05-04T08:40:00Z'))).toEqual({ action: 'advance', nextRunAt: at('2026-05-04T09:10:00Z') });
    // ... but a grid slot after it and before now is emitted.
    expect(emitted(planClaim(off, at('2026-05-04T09:10:30Z')))).toMatchObject({ scheduledFor: '2026-05-04T09:10:00.000Z', catchUp: false, slots: 1 });
  });

  it('a slot before startAt (stored early) waits for the first slot', () => {
    const early = { ...hourly, nextRunAt: at('2026-04-30T00:00:00Z') };
    expect(planClaim(early, at('2026-04-30T12:00:00Z'))).toEqual({ action: 'advance', nextRunAt: at('2026-05-01T00:10:00Z') });
  });

  it('manual, missing start and unreadable schedules are disabled (next_run_at NULL)', () => {
    expect(planClaim({ ...hourly, interval: 'manual' }, at('2026-05-04T09:00:00Z'))).toEqual({ action: 'disable', reason: 'manual' });
    expect(planClaim({ ...hourly, startAt: null }, at('2026-05-04T09:00:00Z'))).toEqual({ action: 'disable', reason: 'no-start' });
    expect(planClaim({ ...hourly, timezone: 'Mars/Olympus' }, at('2026-05-04T09:00:00Z'))).toMatchObject({ action: 'disable', reason: 'invalid', message: expect.stringMatching(/time zone/) });
    expect(planClaim({ ...hourly, interval: 'yearly' }, at('2026-05-04T09:00:00Z'))).toMatchObject({ action: 'disable', reason: 'invalid' });
  });
});

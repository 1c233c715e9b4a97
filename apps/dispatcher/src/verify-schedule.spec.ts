import { nextVerificationAt } from './verify-schedule';

describe('nextVerificationAt', () => {
  const base = { startAt: '2026-01-05T02:30:00', timezone: 'Europe/Berlin', createdAt: new Date('2026-01-01T00:00:00Z') };

  it('is the first slot of the schedule after the last check, on the configuration\'s start time', () => {
    expect(nextVerificationAt({ ...base, schedule: 'daily', lastCheckedAt: new Date('2026-03-10T12:00:00Z') })).toEqual(new Date('2026-03-11T01:30:00Z'));
    // Monday 2026-01-05 was the first start: weekly checks fall on Mondays at 02:30 Berlin time (summer time: 00:30Z).
    expect(nextVerificationAt({ ...base, schedule: 'weekly', lastCheckedAt: new Date('2026-07-01T00:00:00Z') })).toEqual(new Date('2026-07-06T00:30:00Z'));
    expect(nextVerificationAt({ ...base, schedule: 'monthly', lastCheckedAt: new Date('2026-02-05T01:30:00Z') })).toEqual(new Date('2026-03-05T01:30:00Z'));
  });

  it('anchors a manual configuration at its creation', () => {
    expect(nextVerificationAt({ ...base, startAt: null, schedule: 'daily', lastCheckedAt: new Date('2026-02-01T12:00:00Z') })).toEqual(new Date('2026-02-02T00:00:00Z'));
  });
});

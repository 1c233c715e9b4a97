import fc from 'fast-check';
import { parseStartAt } from '@pbx/scheduling';
import { createBackupConfigurationSchema } from './configuration.schema';

/**
 * The api refuses exactly the schedules the scheduler cannot read: a body accepted here used
 * to fail later with 422 (`2026-12-01T02:30:00.1234` passed validation, then the scheduler's
 * own parser refused it).
 */
const create = createBackupConfigurationSchema({ defaultTimezone: 'UTC' });

const body = (startAt: string, timezone: string) => ({
  name: 'Nightly',
  reportTo: 'ops@example.com',
  interval: 'daily',
  startAt,
  timezone,
  data: { coreData: true },
  destinations: [{ type: 'local' }],
});

const apiAccepts = (startAt: string, timezone: string) => create.safeParse(body(startAt, timezone)).success;
const schedulerReads = (startAt: string, timezone: string) => parseStartAt(startAt, timezone).ok;

describe('startAt and timezone: the api and the scheduler agree', () => {
  it.each([
    ['2026-12-01T02:30:00.1234', true],
    ['2026-12-01T02:30:00.123456789', true],
    ['2026-12-01T02:30:00.1234567890', false],
    ['2026-12-01T02:30', true],
    ['2026-12-01T02:30:00Z', true],
    ['2026-12-01T02:30:00+0100', true],
    ['2026-12-01T02:30:00+01:00', true],
    ['2026-12-01T02:30:00+01', false],
    ['2026-12-01T02:30:00+24:00', false],
    ['2026-12-01T24:00:00', false],
    ['2026-12-01T02:60:00', false],
    ['2026-13-01T02:30:00', false],
    ['2026-02-29T02:30:00', false],
    ['2028-02-29T02:30:00', true],
    ['2026-12-01 02:30:00', false],
    ['2026-12-01', false],
    [' 2026-12-01T02:30:00', false],
    ['2026-12-01T02:30:00.', false],
  ])('%s: accepted by both = %s', (startAt, accepted) => {
    expect(apiAccepts(startAt, 'Europe/Berlin')).toBe(accepted);
    expect(schedulerReads(startAt, 'Europe/Berlin')).toBe(accepted);
  });

  it.each([
    ['Europe/Berlin', true],
    ['UTC', true],
    ['Australia/Lord_Howe', true],
    ['+01:00', false],
    ['Europe/Nowhere', false],
    ['', false],
  ])('timezone %s: accepted by both = %s', (timezone, accepted) => {
    expect(apiAccepts('2026-12-01T02:30:00', timezone)).toBe(accepted);
    expect(schedulerReads('2026-12-01T02:30:00', timezone)).toBe(accepted);
  });

  it('generated near-misses: one verdict for both', () => {
    const two = (min: number, max: number) => fc.integer({ min, max }).map((n) => String(n).padStart(2, '0'));
    const startAt = fc
      .tuple(
        fc.integer({ min: 1999, max: 2040 }).map(String),
        two(0, 13),
        two(0, 32),
        fc.constantFrom('T', ' ', 't'),
        two(0, 24),
        two(0, 60),
        fc.option(two(0, 60), { nil: undefined }),
        fc.constantFrom('', '.1', '.1234', '.123456789', '.1234567890', '.'),
        fc.constantFrom('', 'Z', 'z', '+01:00', '+0100', '+01', '-05:30', '+24:00', '+01:60'),
      )
      .map(([y, mo, d, t, h, mi, s, frac, off]) => `${y}-${mo}-${d}${t}${h}:${mi}${s === undefined ? '' : `:${s}${frac}`}${off}`);
    const zone = fc.constantFrom('Europe/Berlin', 'America/St_Johns', 'UTC', 'Nope/Nope');
    fc.assert(
      fc.property(startAt, zone, (v, tz) => apiAccepts(v, tz) === schedulerReads(v, tz)),
      { numRuns: 2000 },
    );
  });
});

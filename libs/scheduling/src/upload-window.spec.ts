import fc from 'fast-check';
import { DateTime } from 'luxon';
import type { UploadWindow } from '@pbx/contracts';
import { uploadWindowState } from './index';

const NIGHT: UploadWindow[] = [{ from: '22:00', to: '06:00' }];
const at = (iso: string) => new Date(iso);

describe('uploadWindowState', () => {
  // Berlin 2026: clocks go forward on 29 March at 02:00 CET (01:00Z), back on 25 October at 03:00 CEST (01:00Z).
  it.each<[string, UploadWindow[], string, string, string | null]>([
    ['no windows: any time', [], 'Europe/Berlin', '2026-06-10T10:00:00Z', null],
    ['inside, before midnight', NIGHT, 'Europe/Berlin', '2026-06-10T21:00:00Z', null],
    ['inside, after midnight', NIGHT, 'Europe/Berlin', '2026-06-11T03:59:59.999Z', null],
    ['from is inclusive', NIGHT, 'Europe/Berlin', '2026-06-10T20:00:00Z', null],
    ['to is exclusive: closed at 06:00, opens 22:00', NIGHT, 'Europe/Berlin', '2026-06-11T04:00:00Z', '2026-06-11T20:00:00Z'],
    ['midday, summer time', NIGHT, 'Europe/Berlin', '2026-06-10T10:00:00Z', '2026-06-10T20:00:00Z'],
    ['midday, winter time', NIGHT, 'Europe/Berlin', '2026-01-10T10:00:00Z', '2026-01-10T21:00:00Z'],
    ['two windows: the next one of the day', [{ from: '00:00', to: '05:30' }, { from: '12:00', to: '13:00' }], 'Europe/Berlin', '2026-06-10T04:00:00Z', '2026-06-10T10:00:00Z'],
    ['two windows: after the last, the first of tomorrow', [{ from: '00:00', to: '05:30' }, { from: '12:00', to: '13:00' }], 'Europe/Berlin', '2026-06-10T11:00:00Z', '2026-06-10T22:00:00Z'],
    ['the day before spring forward: 22:00 CET', NIGHT, 'Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-28T21:00:00Z'],
    ['the night of spring forward: still open after the jump', NIGHT, 'Europe/Berlin', '2026-03-29T01:30:00Z', null],
    ['the day of spring forward: 22:00 CEST', NIGHT, 'Europe/Berlin', '2026-03-29T05:00:00Z', '2026-03-29T20:00:00Z'],
    ['spring forward: a window starting in the gap opens at the jump (03:00 CEST)', [{ from: '02:30', to: '04:00' }], 'Europe/Berlin', '2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z'],
    ['spring forward: a window inside the gap skips that night', [{ from: '02:00', to: '02:30' }], 'Europe/Berlin', '2026-03-28T23:00:00Z', '2026-03-30T00:00:00Z'],
    ['fall back: 02:45 CEST is inside 02:30–03:00', [{ from: '02:30', to: '03:00' }], 'Europe/Berlin', '2026-10-25T00:45:00Z', null],
    ['fall back: the repeated hour opens the window again at 02:30 CET', [{ from: '02:30', to: '03:00' }], 'Europe/Berlin', '2026-10-25T01:10:00Z', '2026-10-25T01:30:00Z'],
    ['fall back: the jump back to 02:00 reopens 01:30–02:30', [{ from: '01:30', to: '02:30' }], 'Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z'],
    ['fall back day: 22:00 CET', NIGHT, 'Europe/Berlin', '2026-10-25T10:00:00Z', '2026-10-25T21:00:00Z'],
    ['a half-hour zone', NIGHT, 'Asia/Kolkata', '2026-06-10T06:00:00Z', '2026-06-10T16:30:00Z'],
    ['UTC, a window that ends at midnight', [{ from: '23:00', to: '00:00' }], 'UTC', '2026-06-10T23:59:59Z', null],
    ['UTC, midnight is past a window ending at midnight', [{ from: '23:00', to: '00:00' }], 'UTC', '2026-06-11T00:00:00Z', '2026-06-11T23:00:00Z'],
  ])('%s', (_name, windows, zone, now, opensAt) => {
    expect(uploadWindowState(windows, zone, at(now))).toEqual(opensAt === null ? { open: true } : { open: false, opensAt: at(opensAt) });
  });

  // Reference: read the wall clock (luxon's own zone conversion) minute by minute. Modern zone
  // offsets and their changes fall on whole minutes, so the first open instant after a closed
  // `now` is a whole minute.
  const openAt = (windows: readonly UploadWindow[], zone: string, ms: number): boolean => {
    const d = DateTime.fromMillis(ms, { zone });
    const m = d.hour * 60 + d.minute + d.second / 60 + d.millisecond / 60_000;
    return windows.some((w) => {
      const from = Number(w.from.slice(0, 2)) * 60 + Number(w.from.slice(3));
      const to = Number(w.to.slice(0, 2)) * 60 + Number(w.to.slice(3));
      return from < to ? m >= from && m < to : m >= from || m < to;
    });
  };
  function reference(windows: readonly UploadWindow[], zone: string, now: Date): { open: true } | { open: false; opensAt: Date } {
    if (!windows.length || openAt(windows, zone, now.getTime())) return { open: true };
    for (let t = Math.floor(now.getTime() / 60_000) * 60_000 + 60_000; t < now.getTime() + 5 * 86_400_000; t += 60_000) {
      if (openAt(windows, zone, t)) return { open: false, opensAt: new Date(t) };
    }
    throw new Error('no opening within 5 days');
  }

  const hhmm = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 0, 15, 30, 45, 59)).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  // Night hours, where DST changes happen, weighted.
  const nightHhmm = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 30, 45)).map(([h, m]) => `0${h}:${String(m).padStart(2, '0')}`);
  const window = fc.tuple(fc.oneof(hhmm, nightHhmm), fc.oneof(hhmm, nightHhmm)).filter(([from, to]) => from !== to).map(([from, to]) => ({ from, to }));
  const windows = fc.array(window, { minLength: 1, maxLength: 3 });

  it('agrees with a minute-by-minute reading of the wall clock (zones with DST, half hours, 45 minutes)', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Santiago', 'UTC'];
    const now = fc.integer({ min: Date.parse('2021-01-01T00:00:00Z'), max: Date.parse('2032-12-31T00:00:00Z') }).map((ms) => new Date(ms));
    fc.assert(
      fc.property(windows, fc.constantFrom(...zones), now, (w, zone, n) => {
        expect(uploadWindowState(w, zone, n)).toEqual(reference(w, zone, n));
      }),
      { numRuns: 150 },
    );
  });

  it('agrees with the reference around every Berlin DST change 2024–2030', () => {
    const changes = [];
    for (let year = 2024; year <= 2030; year++) {
      // The last Sundays of March and October, 01:00Z.
      for (const month of [3, 10]) {
        const last = DateTime.utc(year, month, 31);
        changes.push(last.minus({ days: last.weekday % 7 }).set({ hour: 1 }).toMillis());
      }
    }
    const now = fc.tuple(fc.constantFrom(...changes), fc.integer({ min: -30 * 3_600_000, max: 30 * 3_600_000 })).map(([c, d]) => new Date(c + d));
    fc.assert(
      fc.property(windows, now, (w, n) => {
        expect(uploadWindowState(w, 'Europe/Berlin', n)).toEqual(reference(w, 'Europe/Berlin', n));
      }),
      { numRuns: 200 },
    );
  });
});

import fc from 'fast-check';
import { DateTime } from 'luxon';
import { retentionPlan, type KeptFile, type RetentionPolicy } from './retention';

const NO_RULES = { keepLast: null, keepDaily: null, keepWeekly: null, keepMonthly: null, maxAgeDays: null, timezone: 'UTC' };
const NOW = new Date('2026-12-10T00:00:00Z');
const file = (id: string, fileName: string, takenAt: string, finishedAt = takenAt, folder = 'X'): KeptFile => ({
  id,
  folder,
  fileName,
  takenAt: new Date(takenAt),
  finishedAt: new Date(finishedAt),
});
const plan = (files: KeptFile[], rules: Partial<RetentionPolicy>, now = NOW) => retentionPlan(files, { ...NO_RULES, ...rules }, now);
const pruned = (files: KeptFile[], keepLast: number) => plan(files, { keepLast }).map((p) => `${p.file.id}:${p.deleteFile ? 'delete' : 'keep file'}`);
const prunedIds = (files: KeptFile[], rules: Partial<RetentionPolicy>, now = NOW) => plan(files, rules, now).map((p) => p.file.id).sort();

describe('retentionPlan: keepLast', () => {
  it('keeps the newest by run time across names with and without the run id', () => {
    const files = [
      file('new-2', 'X_20261203-013000_bbbbbbbb.sar', '2026-12-03T01:30:00Z'),
      file('old-1', 'X_20261201-013000.sar', '2026-12-01T01:30:00Z'),
      file('new-1', 'X_20261202-013000_aaaaaaaa.sar', '2026-12-02T01:30:00Z'),
      file('old-2', 'X_20261130-013000.sar', '2026-11-30T01:30:00Z'),
    ];
    expect(pruned(files, 2)).toEqual(['old-1:delete', 'old-2:delete']);
    expect(pruned(files, 3)).toEqual(['old-2:delete']);
  });

  it('orders by run time, not by delivery time or name', () => {
    // A retried delivery of an older run finished last; its name also sorts last ("Z" > "2").
    const files = [
      file('late', 'X_20261201-013000.sar', '2026-12-01T01:30:00Z', '2026-12-05T00:00:00Z'),
      file('recent', 'X_20261202-013000_00000000.sar', '2026-12-02T01:30:00Z'),
    ];
    expect(pruned(files, 1)).toEqual(['late:delete']);
  });

  it('two runs in the same second: the later run is kept', () => {
    const files = [
      file('first', 'X_20261201-013000_aaaaaaaa.sar', '2026-12-01T01:30:00.100Z', '2026-12-01T01:31:00Z'),
      file('second', 'X_20261201-013000_bbbbbbbb.sar', '2026-12-01T01:30:00.900Z', '2026-12-01T01:30:50Z'),
    ];
    expect(pruned(files, 1)).toEqual(['first:delete']);
  });

  it('an old name two runs shared is one file: pruning the older delivery leaves it in place', () => {
    const files = [
      file('a', 'X_20261201-013000.sar', '2026-12-01T01:30:00.100Z'),
      file('b', 'X_20261201-013000.sar', '2026-12-01T01:30:00.600Z'),
      file('c', 'X_20261130-013000.sar', '2026-11-30T01:30:00Z'),
    ];
    expect(pruned(files, 1)).toEqual(['a:keep file', 'c:delete']);
  });

  it('the same file name in another folder (a renamed configuration) is another file', () => {
    const files = [
      file('new', 'X_20261201-013000.sar', '2026-12-01T01:30:00.600Z', undefined, 'Renamed'),
      file('old', 'X_20261201-013000.sar', '2026-12-01T01:30:00.100Z', undefined, 'X'),
    ];
    expect(pruned(files, 1)).toEqual(['old:delete']);
  });

  it('prunes nothing within the limit, and nothing without rules', () => {
    expect(plan([file('a', 'X_20261201-013000.sar', '2026-12-01T01:30:00Z')], { keepLast: 1 })).toEqual([]);
    expect(plan([file('a', 'a.sar', '2020-01-01T00:00:00Z'), file('b', 'b.sar', '2020-01-02T00:00:00Z')], {})).toEqual([]);
  });
});

describe('retentionPlan: calendar rules (restic forget)', () => {
  // Daily runs at 23:30 Berlin time = 22:30Z (winter): the day is Berlin's, not UTC's.
  const daily = (from: string, days: number, time = 'T22:30:00Z') =>
    Array.from({ length: days }, (_, i) => {
      const d = new Date(new Date(from + time).getTime() + i * 86_400_000);
      return file(d.toISOString(), `f${i}.sar`, d.toISOString());
    });

  it('keepDaily counts days that have a copy, in the configuration time zone, keeping the newest of each', () => {
    const files = [
      file('mon-early', 'a.sar', '2026-12-07T01:00:00Z'), // Mon 02:00 Berlin
      file('mon-late', 'b.sar', '2026-12-07T22:30:00Z'), // Mon 23:30 Berlin (Tue in UTC+2 zones)
      file('wed', 'c.sar', '2026-12-09T10:00:00Z'),
    ];
    // Berlin: Wednesday, then Monday twice: Monday's newest is kept, the counts are spent.
    expect(prunedIds(files, { keepDaily: 2, timezone: 'Europe/Berlin' })).toEqual(['mon-early']);
    // A count left over keeps the oldest copy additionally (restic >= 0.16).
    expect(prunedIds(files, { keepDaily: 3, timezone: 'Europe/Berlin' })).toEqual([]);
    expect(prunedIds([...files, file('sun', 'd.sar', '2026-12-06T10:00:00Z')], { keepDaily: 3, timezone: 'Europe/Berlin' })).toEqual(['mon-early']);
    // Tokyo (UTC+9): mon-late is Tuesday 07:30 there, so each copy has its own day; the newest two are kept.
    expect(prunedIds(files, { keepDaily: 2, timezone: 'Asia/Tokyo' })).toEqual(['mon-early']);
    expect(prunedIds(files, { keepDaily: 2, timezone: 'UTC' })).toEqual(['mon-early']);
  });

  it('keepWeekly uses ISO weeks (Monday to Sunday) and keepMonthly calendar months', () => {
    const files = [
      file('sun-w49', 'a.sar', '2026-12-06T12:00:00Z'), // Sunday, ISO week 49
      file('mon-w50', 'b.sar', '2026-12-07T12:00:00Z'), // Monday, ISO week 50
      file('tue-w50', 'c.sar', '2026-12-08T12:00:00Z'),
      file('nov', 'd.sar', '2026-11-15T12:00:00Z'),
      file('oct', 'e.sar', '2026-10-15T12:00:00Z'),
    ];
    expect(prunedIds(files, { keepWeekly: 2 })).toEqual(['mon-w50', 'nov', 'oct'].sort());
    expect(prunedIds(files, { keepMonthly: 2 })).toEqual(['mon-w50', 'oct', 'sun-w49'].sort());
  });

  it('a copy is kept if any rule keeps it', () => {
    const files = daily('2026-11-01', 30);
    const kept = (rules: Partial<RetentionPolicy>) => files.length - plan(files, { timezone: 'Europe/Berlin', ...rules }).length;
    expect(kept({ keepLast: 3 })).toBe(3);
    expect(kept({ keepDaily: 7 })).toBe(7);
    // Nov 24–30 (daily), Nov 29 and 30 (two ISO weeks), Nov 30 (month) and, with a monthly count left, the oldest (Nov 1).
    expect(kept({ keepDaily: 7, keepWeekly: 2, keepMonthly: 2 })).toBe(8);
  });

  it('maxAgeDays removes copies older than N days unless keepLast keeps them; alone it is an age limit', () => {
    const files = daily('2026-11-01', 30); // newest 2026-11-30T22:30Z
    const now = new Date('2026-12-05T22:30:00Z');
    // Older than 10 days: taken before 2026-11-25T22:30Z.
    expect(plan(files, { maxAgeDays: 10 }, now).length).toBe(24);
    // keepLast 3 keeps three (within 10 days anyway); keepDaily 30 would keep all, maxAgeDays cuts it to the last 10 days.
    expect(plan(files, { keepDaily: 30, maxAgeDays: 10 }, now).length).toBe(24);
    // keepLast beats maxAgeDays: 12 newest are kept even though 6 are older than 10 days.
    expect(plan(files, { keepLast: 12, maxAgeDays: 10 }, now).length).toBe(18);
    expect(plan(files, { keepLast: 12, keepDaily: 30, maxAgeDays: 10 }, now).length).toBe(18);
  });
});

// ---------------------------------------------------------------------------------------------
// The reference: written from restic's documentation ("--keep-daily n: for the last n days which
// have one or more snapshots, keep only the most recent one for each day"; "if there are not
// enough snapshots to keep one for each duration related --keep-* option, the oldest snapshot in
// the group is kept additionally"), with groups instead of the implementation's running bucket.
// Zones whose local date never steps back (no DST change at midnight): there a day is one stretch
// of time, as the documentation's wording assumes.

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Tokyo'];

function reference(files: KeptFile[], p: RetentionPolicy, now: Date): Set<string> {
  const sorted = [...files].sort(
    (a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.finishedAt.getTime() - a.finishedAt.getTime() || a.id.localeCompare(b.id),
  );
  const rules = [p.keepLast, p.keepDaily, p.keepWeekly, p.keepMonthly];
  if (rules.every((n) => !n) && !p.maxAgeDays) return new Set(files.map((f) => f.id));
  const local = (f: KeptFile) => DateTime.fromJSDate(f.takenAt, { zone: p.timezone });
  const periodOf = [
    (f: KeptFile) => f.id,
    (f: KeptFile) => local(f).toISODate(),
    (f: KeptFile) => `${local(f).weekYear}-W${local(f).weekNumber}`,
    (f: KeptFile) => local(f).toFormat('yyyy-MM'),
  ];
  const byRule: Set<string>[] = rules.map((n, i) => {
    const kept = new Set<string>();
    if (!n) return kept;
    const newestOfPeriod = new Map<string, KeptFile>();
    for (const f of sorted) if (!newestOfPeriod.has(periodOf[i](f) as string)) newestOfPeriod.set(periodOf[i](f) as string, f);
    const periods = [...newestOfPeriod.values()];
    for (const f of periods.slice(0, n)) kept.add(f.id);
    if (periods.length < n && sorted.length) kept.add(sorted[sorted.length - 1].id);
    return kept;
  });
  const anyRule = rules.some((n) => n);
  const keep = new Set<string>();
  for (const f of sorted) {
    const keptByRules = !anyRule || byRule.some((s) => s.has(f.id));
    const tooOld = p.maxAgeDays !== null && now.getTime() - f.takenAt.getTime() > p.maxAgeDays * 86_400_000;
    if (keptByRules && (!tooOld || byRule[0].has(f.id))) keep.add(f.id);
  }
  return keep;
}

const rule = fc.option(fc.integer({ min: 1, max: 12 }), { nil: null });
const policyArb = fc.record({
  keepLast: rule,
  keepDaily: rule,
  keepWeekly: rule,
  keepMonthly: rule,
  maxAgeDays: fc.option(fc.integer({ min: 1, max: 120 }), { nil: null }),
  timezone: fc.constantFrom(...ZONES),
});
const START = Date.parse('2025-01-01T00:00:00Z');
// Clustered times (several a day, gaps of weeks) so days, weeks and months both repeat and skip.
const filesArb = fc
  .array(
    fc.record({
      at: fc.oneof(fc.integer({ min: 0, max: 400 * 86_400 }), fc.integer({ min: 0, max: 20 }).map((d) => 300 * 86_400 + d * 86_400 + 3600)),
      finishedAfter: fc.integer({ min: 0, max: 3600 }),
      folder: fc.constantFrom('A', 'B'),
    }),
    { maxLength: 60 },
  )
  .map((raw) =>
    raw.map((r, i) => ({
      id: `f${String(i).padStart(3, '0')}`,
      folder: r.folder,
      fileName: `n${r.at}.sar`,
      takenAt: new Date(START + r.at * 1000),
      finishedAt: new Date(START + (r.at + r.finishedAfter) * 1000),
    })),
  );

describe('retentionPlan: property tests against the reference from restic\'s definition', () => {
  it('prunes exactly the copies the reference does not keep', () => {
    fc.assert(
      fc.property(filesArb, policyArb, fc.integer({ min: 0, max: 500 * 86_400 }), (files, policy, nowOffset) => {
        const now = new Date(START + nowOffset * 1000);
        const keep = reference(files, policy, now);
        const prunedSet = new Set(retentionPlan(files, policy, now).map((p) => p.file.id));
        for (const f of files) expect(prunedSet.has(f.id)).toBe(!keep.has(f.id));
      }),
      { numRuns: 2000 },
    );
  });

  it('deletes a file only when no kept copy has its folder and name, and never one it was not given', () => {
    fc.assert(
      fc.property(filesArb, policyArb, (files, policy) => {
        const result = retentionPlan(files, policy, NOW);
        const prunedIds = new Set(result.map((p) => p.file.id));
        const keptPaths = new Set(files.filter((f) => !prunedIds.has(f.id)).map((f) => `${f.folder}/${f.fileName}`));
        for (const p of result) {
          expect(files).toContain(p.file);
          expect(p.deleteFile).toBe(!keptPaths.has(`${p.file.folder}/${p.file.fileName}`));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('with keepLast n, the n newest copies are never pruned whatever the other rules', () => {
    fc.assert(
      fc.property(filesArb, policyArb, fc.integer({ min: 1, max: 12 }), (files, policy, n) => {
        const sorted = [...files].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.finishedAt.getTime() - a.finishedAt.getTime() || a.id.localeCompare(b.id));
        const prunedIds = new Set(retentionPlan(files, { ...policy, keepLast: n }, NOW).map((p) => p.file.id));
        for (const f of sorted.slice(0, n)) expect(prunedIds.has(f.id)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

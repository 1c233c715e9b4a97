import { DateTime } from 'luxon';
import type { RetentionRules } from '@pbx/contracts';

/** A succeeded, not yet pruned delivery of one configuration to one destination. */
export interface KeptFile {
  id: string;
  /** The folder it was written to: the configuration's name when its run was made (renames leave old copies there). */
  folder: string;
  fileName: string;
  /** The run's scheduled (else creation) time: what the file name's stamp shows, to the millisecond. */
  takenAt: Date;
  finishedAt: Date;
}

export interface Pruning {
  file: KeptFile;
  /** False when a kept delivery wrote the same file (same folder and name): that one file is still wanted. */
  deleteFile: boolean;
}

export interface RetentionPolicy extends RetentionRules {
  /** The configuration's time zone: days, ISO weeks and months are counted in it. */
  timezone: string;
}

/** `all`: no keep rule is set (restic: "policy is empty"), so every copy is kept by them. */
type Reason = 'all' | 'last' | 'daily' | 'weekly' | 'monthly';

const DAY_MS = 86_400_000;

/** Newest first by run time, then delivery time, then id: one order for every rule. */
export function newestFirst(files: readonly KeptFile[]): KeptFile[] {
  return [...files].sort(
    (a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.finishedAt.getTime() - a.finishedAt.getTime() || a.id.localeCompare(b.id),
  );
}

export function hasRules(p: RetentionRules): boolean {
  return [p.keepLast, p.keepDaily, p.keepWeekly, p.keepMonthly, p.maxAgeDays].some((n) => n !== null && n > 0);
}

/**
 * Why each copy is kept (empty: not kept), by restic's `forget` rules (its
 * internal/restic/snapshot_policy.go ApplyPolicy): walking newest to oldest, a rule with
 * count left keeps a copy whose bucket (the copy itself, its day, ISO week, month in `timezone`)
 * differs from the last bucket that rule kept, and spends one count; the oldest copy is kept
 * additionally by a rule that still has count left. A policy with no keep rule keeps all.
 */
export function keepReasons(sorted: readonly KeptFile[], p: RetentionPolicy): Map<string, Set<Reason>> {
  const reasons = new Map(sorted.map((f) => [f.id, new Set<Reason>()]));
  const local = (d: Date) => DateTime.fromJSDate(d, { zone: p.timezone });
  const buckets: { count: number; reason: Reason; key: (f: KeptFile, nr: number) => number; last: number | null }[] = [
    { count: p.keepLast ?? 0, reason: 'last', key: (_, nr) => nr, last: null },
    { count: p.keepDaily ?? 0, reason: 'daily', key: (f) => { const d = local(f.takenAt); return d.year * 10000 + d.month * 100 + d.day; }, last: null },
    { count: p.keepWeekly ?? 0, reason: 'weekly', key: (f) => { const d = local(f.takenAt); return d.weekYear * 100 + d.weekNumber; }, last: null },
    { count: p.keepMonthly ?? 0, reason: 'monthly', key: (f) => { const d = local(f.takenAt); return d.year * 100 + d.month; }, last: null },
  ];
  if (buckets.every((b) => b.count <= 0)) {
    for (const set of reasons.values()) set.add('all');
    return reasons;
  }
  sorted.forEach((file, nr) => {
    for (const b of buckets) {
      if (b.count <= 0) continue;
      const value = b.key(file, nr);
      if (value !== b.last || nr === sorted.length - 1) {
        reasons.get(file.id)!.add(b.reason);
        b.last = value;
        b.count--;
      }
    }
  });
  return reasons;
}

/**
 * What a configuration's rules prune at one destination: a copy is kept if any keep rule keeps
 * it (restic semantics, above); `maxAgeDays` then prunes every copy taken more than that many
 * whole 24-hour days before `now`, unless `keepLast` keeps it. No rule at all prunes nothing.
 * Ordering comes from the runs, never from parsing names. Copies of one configuration written
 * under earlier names (before a rename) are judged with the rest. Two runs in one second used to
 * share one name, i.e. one file: pruning the older must not delete the newer's file.
 */
export function retentionPlan(files: readonly KeptFile[], p: RetentionPolicy, now: Date): Pruning[] {
  if (!hasRules(p)) return [];
  const sorted = newestFirst(files);
  const reasons = keepReasons(sorted, p);
  const kept = (f: KeptFile) => {
    const why = reasons.get(f.id)!;
    if (why.size === 0) return false;
    if (p.maxAgeDays !== null && p.maxAgeDays > 0 && now.getTime() - f.takenAt.getTime() > p.maxAgeDays * DAY_MS) return why.has('last');
    return true;
  };
  const keptPaths = new Set(sorted.filter(kept).map(pathOf));
  return sorted.filter((f) => !kept(f)).map((file) => ({ file, deleteFile: !keptPaths.has(pathOf(file)) }));
}

const pathOf = (f: KeptFile) => `${f.folder}/${f.fileName}`;

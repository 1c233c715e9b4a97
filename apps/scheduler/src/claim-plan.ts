import { InvalidScheduleError, planCatchUp, SCHEDULE_INTERVALS, type ScheduleInterval } from '@pbx/scheduling';

/** What the plan needs of a due configuration row. */
export interface DueSchedule {
  interval: string;
  startAt: string | null;
  timezone: string;
  /** The stored slot the row is due for (`configurations.next_run_at`, <= now). */
  nextRunAt: Date;
}

export interface SlotEmission {
  /** The slot the run stands for: the newest slot in [nextRunAt, now]. */
  scheduledFor: Date;
  /** More than one slot was missed, or the only one is later than the grace. */
  catchUp: boolean;
  /** How many slots the run stands for (1 = just the due one). */
  slots: number;
  /** How late the run is relative to its slot. */
  lateMs: number;
}

export type ClaimPlan =
  /** One run for the newest due slot; then next_run_at moves to the first slot after now. */
  | { action: 'emit'; emit: SlotEmission; nextRunAt: Date }
  /** No slot lies in [nextRunAt, now] (a stored value off the grid): only re-align next_run_at. */
  | { action: 'advance'; nextRunAt: Date }
  /** The row can never run on its own (manual, no start, unreadable schedule): next_run_at = NULL. */
  | { action: 'disable'; reason: 'manual' | 'no-start' | 'invalid'; message?: string };

/** Grace within which a late slot still counts as a normal run (a busy or briefly restarting scheduler). */
export const DEFAULT_CATCH_UP_GRACE_MS = 60_000;

const isInterval = (v: string): v is ScheduleInterval => (SCHEDULE_INTERVALS as readonly string[]).includes(v);

/**
 * Decides what one due configuration gets at `now`. Pure: the claimer runs it per row
 * inside the claiming transaction.
 *
 * Slots in [nextRunAt, now] are all pending; however many there are, they become ONE
 * run for the newest of them (a backup of "now" stands for every backup missed), and the
 * schedule continues on its grid after now, never shifted to the catch-up time.
 */
export function planClaim(row: DueSchedule, now: Date, graceMs = DEFAULT_CATCH_UP_GRACE_MS): ClaimPlan {
  if (row.interval === 'manual') return { action: 'disable', reason: 'manual' };
  if (!row.startAt) return { action: 'disable', reason: 'no-start' };
  if (!isInterval(row.interval)) return { action: 'disable', reason: 'invalid', message: `unknown interval "${row.interval}"` };
  const config = { interval: row.interval, startAt: row.startAt, timezone: row.timezone };
  let plan;
  try {
    // lastSlotAt just before the stored slot: the stored slot itself is still pending.
    plan = planCatchUp(config, new Date(row.nextRunAt.getTime() - 1), now);
  } catch (err) {
    if (err instanceof InvalidScheduleError) return { action: 'disable', reason: 'invalid', message: err.message };
    throw err;
  }
  if (!plan.next) return { action: 'disable', reason: 'manual' };
  if (plan.missed === 0 || !plan.catchUpSlot) return { action: 'advance', nextRunAt: plan.next };
  const lateMs = now.getTime() - plan.catchUpSlot.getTime();
  return {
    action: 'emit',
    emit: { scheduledFor: plan.catchUpSlot, catchUp: plan.missed > 1 || lateMs > graceMs, slots: plan.missed, lateMs },
    nextRunAt: plan.next,
  };
}

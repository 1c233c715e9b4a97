import type { VerifySettings } from '@pbx/contracts';
import { nextRunAt } from '@pbx/scheduling';

export interface ScheduledCopy {
  schedule: NonNullable<VerifySettings['schedule']>;
  /** The configuration's first start (its wall time anchors the checks), or null for manual ones. */
  startAt: string | null;
  timezone: string;
  createdAt: Date;
  /** The copy's last read-back, or its upload when it was never read back. */
  lastCheckedAt: Date;
}

/**
 * When the copy's next scheduled read-back is due: the first slot of its verify schedule after
 * the last check, on the configuration's own start time (a weekly check falls on the weekday and
 * hour the backups start, DST-safe: libs/scheduling). Manual configurations anchor at creation.
 */
export function nextVerificationAt(copy: ScheduledCopy): Date | null {
  const startAt = copy.startAt ?? copy.createdAt.toISOString();
  return nextRunAt({ interval: copy.schedule, startAt, timezone: copy.timezone }, copy.lastCheckedAt);
}

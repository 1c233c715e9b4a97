/** How often a backup configuration runs. `manual` never runs on its own. */
export const SCHEDULE_INTERVALS = ['manual', 'hourly', 'daily', 'weekly', 'monthly'] as const;
export type ScheduleInterval = (typeof SCHEDULE_INTERVALS)[number];

/** The schedule part of a backup configuration. */
export interface ScheduleConfig {
  interval: ScheduleInterval;
  /** Local wall time in `timezone` ("2026-12-01T02:30:00") or an ISO instant with offset ("…+01:00", "…Z"). */
  startAt: string;
  /** IANA zone name, e.g. "Europe/Berlin". */
  timezone: string;
}

/** Thrown by the schedule functions when a configuration cannot be interpreted. */
export class InvalidScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidScheduleError';
  }
}

import { INTERVALS, type Interval } from '@pbx/contracts';

/** How often a configuration runs (the contracts' vocabulary). `manual` never runs on its own. */
export const SCHEDULE_INTERVALS = INTERVALS;
export type ScheduleInterval = Interval;

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

import { z } from 'zod';
import { intBetween, mustBe } from './fields';

/**
 * Which stored copies a backup configuration keeps at each destination, and when its uploads
 * may run. The keep rules are restic's `forget` rules (a copy is kept if ANY rule keeps it);
 * `maxAgeDays` then removes copies older than that, except those `keepLast` keeps. The
 * dispatcher's retention.ts applies them; the api stores them one column each.
 */

/** Each rule and its largest value; absent or null means the rule is off. */
export const RETENTION_RULES = {
  keepLast: 1000,
  keepDaily: 1000,
  keepWeekly: 1000,
  keepMonthly: 1000,
  /** 100 years: a limit to catch typos, not a policy. */
  maxAgeDays: 36500,
} as const;
export type RetentionRule = keyof typeof RETENTION_RULES;
export const RETENTION_RULE_NAMES = Object.keys(RETENTION_RULES) as RetentionRule[];
/** A configuration's rules as stored and snapshotted: null = off. */
export type RetentionRules = { [K in RetentionRule]: number | null };

/** The request field of one rule: a whole number from 1 to its limit. */
export const retentionRuleSchema = (rule: RetentionRule) => intBetween(1, RETENTION_RULES[rule]);

// ---------------------------------------------------------------------------------------------
// Upload windows

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
const timeOfDay = z
  .string({ error: mustBe('a time of day like "22:00"') })
  .regex(HH_MM, { error: 'must be a time of day from "00:00" to "23:59"' });

/**
 * A daily stretch of local time (the configuration's time zone) when uploads may start;
 * `to` before `from` crosses midnight ("22:00"–"06:00"). `to` is exclusive.
 */
export const uploadWindowSchema = z
  .strictObject({ from: timeOfDay, to: timeOfDay }, { error: mustBe('an object like { "from": "22:00", "to": "06:00" }') })
  .refine((w) => w.from !== w.to, { error: 'from and to must differ (leave uploadWindows out to allow uploads at any time)', path: ['to'] });
export const UPLOAD_WINDOWS_MAX = 24;
/** Empty (or absent): uploads start at any time. */
export const uploadWindowsSchema = z
  .array(uploadWindowSchema, { error: mustBe('a list of { "from": "HH:MM", "to": "HH:MM" }') })
  .max(UPLOAD_WINDOWS_MAX, { error: `must have at most ${UPLOAD_WINDOWS_MAX} windows` });
export type UploadWindow = z.output<typeof uploadWindowSchema>;

// ---------------------------------------------------------------------------------------------
// Bandwidth

/** 8 KiB/s to 10 GiB/s (a lower rate would make even a small archive take days). */
export const MAX_UPLOAD_RATE = { min: 8 * 1024, max: 10 * 1024 ** 3 } as const;
/** A destination's upload limit in bytes per second (token bucket on the upload stream); absent = unlimited. */
export const maxUploadBytesPerSecondSchema = intBetween(MAX_UPLOAD_RATE.min, MAX_UPLOAD_RATE.max);

import { z } from 'zod';
import { DELIVERY_CODES, type DeliveryFailureCode } from './delivery-codes';
import { mustBe, oneOf } from './fields';

/**
 * What reading a stored copy back found (POST /runs/:id/verify, a configuration's
 * verify.afterUpload = sha256, its verify.schedule): the copy's sha256 equals the run's
 * (`verified`), differs (`mismatch`), the file is gone (`missing`), the kind cannot be read
 * back (`notVerifiable`: e-mail), or the destination's failure code when it could not be read.
 */
export const VERIFICATION_OUTCOMES = ['verified', 'mismatch', 'missing', 'notVerifiable'] as const;
export type VerificationOutcome = (typeof VERIFICATION_OUTCOMES)[number];

const FAILURE_CODES = DELIVERY_CODES.filter((c): c is DeliveryFailureCode => c !== 'successful');
export const VERIFICATION_RESULTS = [...VERIFICATION_OUTCOMES, ...FAILURE_CODES] as const;
export const verificationResultSchema = z.enum(VERIFICATION_RESULTS as unknown as [VerificationResult, ...VerificationResult[]]);
export type VerificationResult = VerificationOutcome | DeliveryFailureCode;

/** A copy that needs a human: a changed or vanished copy is a failed backup after the fact. */
export function isVerificationFailure(result: VerificationResult): boolean {
  return result === 'mismatch' || result === 'missing';
}

/** How a configuration checks its copies: right after upload (size or read-back sha256), and optionally on a schedule. */
export const VERIFY_AFTER_UPLOAD = ['size', 'sha256'] as const;
export const VERIFY_SCHEDULES = ['daily', 'weekly', 'monthly'] as const;
export const verifySettingsSchema = z.strictObject(
  {
    afterUpload: oneOf(VERIFY_AFTER_UPLOAD).default('size'),
    schedule: oneOf(VERIFY_SCHEDULES).optional(),
  },
  { error: mustBe('an object like { "afterUpload": "sha256", "schedule": "weekly" }') },
);
export type VerifySettings = z.output<typeof verifySettingsSchema>;

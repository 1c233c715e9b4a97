import { z } from 'zod';

/**
 * What one delivery to one destination came to. Every adapter reports one of these, the
 * dispatcher decides retries by them and the notifier explains each in words.
 */
export const DELIVERY_CODES = [
  'successful',
  'mountfail',
  'alreadyRunning',
  'mailtobig',
  'sftpRightProblem',
  'authFailed',
  'hostKeyMismatch',
  'notFound',
  'quotaExceeded',
  'timeout',
  'ioError',
] as const;
export const deliveryCodeSchema = z.enum(DELIVERY_CODES);
export type DeliveryCode = z.output<typeof deliveryCodeSchema>;
/** The codes of a delivery that did not succeed. */
export type DeliveryFailureCode = Exclude<DeliveryCode, 'successful'>;

/**
 * `waiting`: held until its configuration's upload window opens (uploadWindows; not a failure,
 * its retry budget does not run meanwhile). `cancelled`: its run was cancelled before this
 * delivery finished (not attempted, or its upload aborted).
 */
export const DELIVERY_STATUSES = ['pending', 'waiting', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

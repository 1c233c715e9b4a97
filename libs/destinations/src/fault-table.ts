import type { DeliveryFailureCode } from '@pbx/contracts';

/**
 * One row of an adapter's error table: what the server or the system said (in its own terms,
 * for docs/destinations.md), the STARFACE-style code users see, and whether the dispatcher
 * gives up at once (a human must act) or retries within its time budget.
 */
export interface FaultRule<F> {
  readonly when: string;
  readonly match: (fault: F) => boolean;
  readonly code: DeliveryFailureCode;
  readonly permanent: boolean;
}

/** The first matching row; every table ends with a row that matches anything. */
export function classifyFault<F>(table: readonly FaultRule<F>[], fault: NoInfer<F>): FaultRule<F> {
  const rule = table.find((r) => r.match(fault));
  if (!rule) throw new Error('fault table without a final catch-all row');
  return rule;
}

/** A matcher: `value` is one of `values`. */
export function oneOf<T>(...values: T[]): (value: T | undefined) => boolean {
  return (value) => value !== undefined && values.includes(value);
}

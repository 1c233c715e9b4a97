import { DELIVERY_STATUSES, FINAL_RUN_STATUSES, RUN_STATUSES, type DeliveryStatus, type RunStatus } from '@pbx/contracts';
import {
  canTransitionDelivery,
  canTransitionRun,
  DELIVERY_TRANSITIONS,
  deliverySourcesOf,
  FINAL_DELIVERY_STATUSES,
  RUN_TRANSITIONS,
  runSourcesOf,
} from './run-transitions';

// Written out on purpose, not derived from the table: a change to the table must change this list too.
const RUN_ALLOWED: [RunStatus, RunStatus][] = [
  ['queued', 'packing'],
  ['queued', 'deferred'],
  ['deferred', 'packing'],
  ['deferred', 'deferred'],
  ['packing', 'packing'],
  ['packing', 'deferred'],
  ['packing', 'dispatching'],
  ['packing', 'failed'],
  ['dispatching', 'succeeded'],
  ['dispatching', 'partially_failed'],
  ['dispatching', 'failed'],
  // A cancel (POST /runs/:id/cancel) ends any run that is not final yet.
  ['queued', 'cancelled'],
  ['deferred', 'cancelled'],
  ['packing', 'cancelled'],
  ['dispatching', 'cancelled'],
];

const DELIVERY_ALLOWED: [DeliveryStatus, DeliveryStatus][] = [
  ['pending', 'running'],
  ['pending', 'failed'],
  ['running', 'running'],
  ['running', 'pending'],
  ['running', 'succeeded'],
  ['running', 'failed'],
  ['pending', 'cancelled'],
  ['running', 'cancelled'],
  // Upload windows: held before an attempt, held again when it came back a little early.
  ['pending', 'waiting'],
  ['waiting', 'waiting'],
  ['waiting', 'running'],
  ['waiting', 'failed'],
  ['waiting', 'cancelled'],
];

/** Every pair of the cross product not in `allowed`: a new status lands here until it is classified. */
function forbidden<S extends string>(statuses: readonly S[], allowed: [S, S][]): [S, S][] {
  const ok = new Set(allowed.map(([a, b]) => `${a}>${b}`));
  return statuses.flatMap((from) => statuses.map((to): [S, S] => [from, to])).filter(([a, b]) => !ok.has(`${a}>${b}`));
}

describe('run transitions', () => {
  it('classifies every status as a source (no status is missing from the table)', () => {
    expect(Object.keys(RUN_TRANSITIONS).sort()).toEqual([...RUN_STATUSES].sort());
  });

  it.each(RUN_ALLOWED)('allows %s -> %s', (from, to) => {
    expect(canTransitionRun(from, to)).toBe(true);
    expect(runSourcesOf(to)).toContain(from);
  });

  it.each(forbidden(RUN_STATUSES, RUN_ALLOWED))('refuses %s -> %s', (from, to) => {
    expect(canTransitionRun(from, to)).toBe(false);
    expect(runSourcesOf(to)).not.toContain(from);
  });

  it('has no way out of a final status, and every status without one is final', () => {
    expect(RUN_STATUSES.filter((s) => RUN_TRANSITIONS[s].length === 0).sort()).toEqual([...FINAL_RUN_STATUSES].sort());
  });

  it('reaches every status from queued', () => {
    const seen = new Set<RunStatus>(['queued']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const from of [...seen]) for (const to of RUN_TRANSITIONS[from]) if (!seen.has(to)) grew = !!seen.add(to);
    }
    expect([...seen].sort()).toEqual([...RUN_STATUSES].sort());
  });
});

describe('delivery transitions', () => {
  it('classifies every status as a source', () => {
    expect(Object.keys(DELIVERY_TRANSITIONS).sort()).toEqual([...DELIVERY_STATUSES].sort());
  });

  it.each(DELIVERY_ALLOWED)('allows %s -> %s', (from, to) => {
    expect(canTransitionDelivery(from, to)).toBe(true);
    expect(deliverySourcesOf(to)).toContain(from);
  });

  it.each(forbidden(DELIVERY_STATUSES, DELIVERY_ALLOWED))('refuses %s -> %s', (from, to) => {
    expect(canTransitionDelivery(from, to)).toBe(false);
    expect(deliverySourcesOf(to)).not.toContain(from);
  });

  it('ends in succeeded, failed or cancelled', () => {
    expect([...FINAL_DELIVERY_STATUSES].sort()).toEqual(['cancelled', 'failed', 'succeeded']);
  });
});

import { DELIVERY_STATUSES, RUN_STATUSES, type DeliveryStatus, type RunStatus } from '@pbx/contracts';

/** A run is created `queued`, a delivery `pending`; every later status is a transition below. */
export const INITIAL_RUN_STATUS: RunStatus = 'queued';
export const INITIAL_DELIVERY_STATUS: DeliveryStatus = 'pending';

/**
 * Every status a run may move to, by the status it is in. A status that is its own source
 * is re-entered on purpose: a packer that crashed mid-pack packs again, a run meeting the
 * lock again is deferred again. Final statuses have no way out.
 */
export const RUN_TRANSITIONS: { readonly [from in RunStatus]: readonly RunStatus[] } = {
  queued: ['packing', 'deferred', 'cancelled'],
  deferred: ['packing', 'deferred', 'cancelled'],
  packing: ['packing', 'deferred', 'dispatching', 'failed', 'cancelled'],
  dispatching: ['succeeded', 'partially_failed', 'failed', 'cancelled'],
  succeeded: [],
  partially_failed: [],
  failed: [],
  cancelled: [],
};

/**
 * Every status a delivery may move to, by the status it is in. `running` re-enters itself
 * when a dispatcher died mid-upload and the message came back; `pending` before an attempt
 * can fail at once (destination removed, secrets unreadable, archive gone). `waiting`: due to
 * start (first or next attempt) outside its upload window, it is held until the window opens
 * (again when it comes back a little early). `cancelled`: its
 * run was cancelled — a pending one is never started, a running upload is aborted at its
 * next chunk (or finishes first and stays `succeeded`).
 */
export const DELIVERY_TRANSITIONS: { readonly [from in DeliveryStatus]: readonly DeliveryStatus[] } = {
  pending: ['running', 'waiting', 'failed', 'cancelled'],
  waiting: ['running', 'waiting', 'failed', 'cancelled'],
  running: ['running', 'pending', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export const FINAL_DELIVERY_STATUSES: readonly DeliveryStatus[] = DELIVERY_STATUSES.filter((s) => DELIVERY_TRANSITIONS[s].length === 0);

export function canTransitionRun(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export function canTransitionDelivery(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return DELIVERY_TRANSITIONS[from].includes(to);
}

/** The statuses a run may be in to move to `to` (the guard of the conditional UPDATE). */
export function runSourcesOf(to: RunStatus): RunStatus[] {
  return RUN_STATUSES.filter((from) => canTransitionRun(from, to));
}

export function deliverySourcesOf(to: DeliveryStatus): DeliveryStatus[] {
  return DELIVERY_STATUSES.filter((from) => canTransitionDelivery(from, to));
}

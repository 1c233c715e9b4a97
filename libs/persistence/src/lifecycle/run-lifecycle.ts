import type { EntityManager } from 'typeorm';
import { FINAL_RUN_STATUSES, isFinalRunStatus, type DeliveryStatus, type RunStatus } from '@pbx/contracts';
import type { Deferral, RunProgress } from '../entities/run.entity';
import { CANCEL_CHECK_MS, watchForCancel, type CancelWatch } from './cancel-watch';
import { eraseEphemeralDestinationSecrets } from '../repositories/destination-secrets';
import { RunLifecycleRepository, type DeliveryChange, type NewDelivery, type RunChange } from './run-lifecycle.repository';
import { deliverySourcesOf, INITIAL_DELIVERY_STATUS, runSourcesOf } from './run-transitions';

/** Deliveries a cancel ends at once: those not running (a running upload belongs to its dispatcher). */
const NOT_STARTED: readonly DeliveryStatus[] = deliverySourcesOf('cancelled').filter((s) => s !== 'running');

/**
 * Whether a transition was applied. Refused (the row was not in a status the table allows
 * as a source, or does not exist) is an answer, not an error: a redelivered or replayed
 * message asks for a transition that already happened and must find nothing to do.
 */
export type RunTransitionResult = { applied: true } | { applied: false; status: RunStatus | null };
/** What metrics hear of the lifecycle (apps pass one recording into PbxMetrics). */
export interface LifecycleObserver {
  /** A run reached a final status `seconds` after it was created. */
  runFinished(run: { kind: string; result: RunStatus; seconds: number }): void;
  /** A delivery ended: successful (with its bytes), a failure code, or cancelled. */
  deliveryFinished(delivery: { destinationKind: string; code: string; bytes: number }): void;
}

/** `heldUntil`: a change to `waiting` holds the delivery until then (database time). */
export type DeliveryTransitionResult = { applied: true; attempts: number; heldUntil?: Date } | { applied: false; status: DeliveryStatus | null };

/**
 * The one owner of a run's and a delivery's state after creation: every status change goes
 * through `transition` / `transitionDelivery` and the table in run-transitions.ts, together
 * with what must happen with it. Pass the transaction's manager to keep a change and its
 * event (outbox) atomic.
 */
export class RunLifecycle {
  constructor(
    private readonly repo: RunLifecycleRepository = new RunLifecycleRepository(),
    /** Told of each applied final change (metrics); inside the caller's transaction, so a rolled-back one is told too (rare: counted, not lost). */
    private readonly observer?: LifecycleObserver,
  ) {}

  async transition(manager: EntityManager, runId: string, change: RunChange): Promise<RunTransitionResult> {
    const applied = await this.repo.updateRun(manager, runId, change, runSourcesOf(change.to));
    if (!applied) return { applied: false, status: await this.repo.runStatus(manager, runId) };
    if (isFinalRunStatus(change.to)) {
      // A cancelled run starts no more deliveries; running ones are aborted by their dispatcher (CancelWatch).
      if (change.to === 'cancelled') {
        for (const destinationKind of await this.repo.cancelDeliveries(manager, runId, NOT_STARTED)) this.observer?.deliveryFinished({ destinationKind, code: 'cancelled', bytes: 0 });
      }
      // A final run delivers nothing more: a runOnly configuration's credentials have served.
      await eraseEphemeralDestinationSecrets(manager, applied.configurationId);
      if (change.to === 'succeeded') await this.repo.recordConfigurationSuccess(manager, applied.configurationId);
      this.observer?.runFinished({ kind: applied.kind, result: change.to, seconds: applied.ageSeconds });
    }
    return { applied: true };
  }

  async transitionDelivery(manager: EntityManager, deliveryId: string, change: DeliveryChange): Promise<DeliveryTransitionResult> {
    const applied = await this.repo.updateDelivery(manager, deliveryId, change, deliverySourcesOf(change.to));
    if (!applied) return { applied: false, status: await this.repo.deliveryStatus(manager, deliveryId) };
    if (change.to === 'succeeded') this.observer?.deliveryFinished({ destinationKind: applied.type, code: 'successful', bytes: change.bytes });
    else if (change.to === 'failed') this.observer?.deliveryFinished({ destinationKind: applied.type, code: change.code, bytes: 0 });
    else if (change.to === 'cancelled') this.observer?.deliveryFinished({ destinationKind: applied.type, code: 'cancelled', bytes: 0 });
    if (change.to === 'waiting' && applied.nextAttemptAt) return { applied: true, attempts: applied.attempts, heldUntil: applied.nextAttemptAt };
    return { applied: true, attempts: applied.attempts };
  }

  /** Watches the run for a cancel while a worker packs or uploads it (cancel-watch.ts). */
  watchForCancel(manager: EntityManager, runId: string, intervalMs = CANCEL_CHECK_MS): CancelWatch {
    return watchForCancel(() => this.repo.runStatus(manager, runId), intervalMs);
  }

  /** Packing progress, kept only while the run is packing (a late write never touches a later status). */
  saveProgress(manager: EntityManager, runId: string, progress: RunProgress): Promise<void> {
    return this.repo.saveRunProgress(manager, runId, progress);
  }

  /** A wait that does not change the status (an archive run's deletion waits for the lock). */
  recordDeferral(manager: EntityManager, runId: string, deferral: Deferral): Promise<void> {
    return this.repo.appendDeferral(manager, runId, deferral);
  }

  /** A deferred run may start now (the lock it waited for freed early); false when it is not deferred. */
  endDeferral(manager: EntityManager, runId: string): Promise<boolean> {
    return this.repo.endDeferral(manager, runId);
  }

  /**
   * Records that every delivery of the run answered. True only the first time, so the
   * hand-over to the archiver is written once however often the last delivery is replayed.
   */
  markDelivered(manager: EntityManager, runId: string): Promise<boolean> {
    return this.repo.markDelivered(manager, runId);
  }

  /** The run's deliveries, created `pending`; a destination that has one already gets none. Returns the new ids. */
  planDeliveries(manager: EntityManager, runId: string, deliveries: readonly NewDelivery[]): Promise<string[]> {
    return this.repo.insertDeliveries(manager, runId, deliveries, INITIAL_DELIVERY_STATUS);
  }

  saveDeliveryProgress(manager: EntityManager, deliveryId: string, bytes: number): Promise<void> {
    return this.repo.saveDeliveryProgress(manager, deliveryId, bytes);
  }

  /** Retention deleted this delivery's file at the destination. */
  markPruned(manager: EntityManager, deliveryId: string): Promise<void> {
    return this.repo.markPruned(manager, deliveryId);
  }

  /** Final runs whose artifact outlived the download window, locked by this transaction. */
  claimExpiredArtifacts(manager: EntityManager, windowMs: number, limit: number): Promise<string[]> {
    return this.repo.claimExpiredArtifacts(manager, windowMs, FINAL_RUN_STATUSES, limit);
  }

  markArtifactRemoved(manager: EntityManager, runId: string): Promise<void> {
    return this.repo.markArtifactRemoved(manager, runId);
  }
}

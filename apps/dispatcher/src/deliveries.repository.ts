import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import type { DeliveryCode, FailedRunStatus, RunKind, RunStatus } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { DeliveryEntity, DestinationEntity, RunEntity, RunLifecycle, type CancelWatch, type NewDelivery } from '@pbx/persistence';
import type { KeptFile } from './retention';

export type { NewDelivery };

/** What the finalizer needs of a delivery to judge the run. */
export interface DeliverySummary {
  type: string;
  target: string;
  status: string;
  code: string | null;
}

export interface LockedRun {
  id: string;
  kind: RunKind;
  status: RunStatus;
}

/**
 * Deliveries, the run results they lead to and the events that go with both; the artifact
 * cleanup's rows. Statuses are RunLifecycle's;
 * an event is written only when its change applied, so a replayed message announces nothing twice.
 */
@Injectable()
export class DeliveriesRepository {
  constructor(
    readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly lifecycle: RunLifecycle,
  ) {}

  findRun(runId: string): Promise<RunEntity | null> {
    return this.dataSource.manager.findOne(RunEntity, { where: { id: runId } });
  }

  findDelivery(id: string): Promise<DeliveryEntity | null> {
    return this.dataSource.manager.findOne(DeliveryEntity, { where: { id } });
  }

  findDestination(id: string): Promise<DestinationEntity | null> {
    return this.dataSource.manager.findOne(DestinationEntity, { where: { id, removedAt: IsNull() } });
  }

  /** One delivery row and one backup.deliver per destination; rows that exist already add nothing. */
  async fanOut(runId: string, deliveries: NewDelivery[]): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      const created = await this.lifecycle.planDeliveries(tx, runId, deliveries);
      for (const deliveryId of created) await this.outbox.enqueue(tx, 'backup.deliver', { runId, deliveryId }, { correlationId: runId });
      return created.length;
    });
  }

  /** Aborts its signal once the run is cancelled (the upload stops at its next chunk). */
  watchForCancel(runId: string): CancelWatch {
    return this.lifecycle.watchForCancel(this.dataSource.manager, runId);
  }

  /** The delivery's run was cancelled: it is not started, or its upload was aborted. */
  async cancel(id: string): Promise<void> {
    await this.lifecycle.transitionDelivery(this.dataSource.manager, id, { to: 'cancelled' });
  }

  /** Marks an attempt started; returns the delivery's attempt count, or null when it is final already. */
  async startAttempt(id: string): Promise<number | null> {
    const result = await this.lifecycle.transitionDelivery(this.dataSource.manager, id, { to: 'running' });
    return result.applied ? result.attempts : null;
  }

  async saveProgress(id: string, bytes: number): Promise<void> {
    await this.lifecycle.saveDeliveryProgress(this.dataSource.manager, id, bytes);
  }

  /** `readBack`: the configuration asked for a sha256 read-back of every new copy (verify.afterUpload). */
  async succeed(d: DeliveryEntity, location: string, target: string, bytes: number, readBack = false): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      if (!(await this.lifecycle.transitionDelivery(tx, d.id, { to: 'succeeded', location, target, bytes })).applied) return;
      await this.outbox.enqueue(tx, 'delivery.succeeded', { runId: d.runId, deliveryId: d.id, destinationType: d.type, location }, { correlationId: d.runId });
      if (readBack) await this.outbox.enqueue(tx, 'backup.verify-requested', { runId: d.runId, reason: 'afterUpload', deliveryIds: [d.id] }, { correlationId: d.runId });
    });
  }

  async fail(d: DeliveryEntity, code: DeliveryCode, error: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      if (!(await this.lifecycle.transitionDelivery(tx, d.id, { to: 'failed', code, error })).applied) return;
      await this.outbox.enqueue(tx, 'delivery.failed', { runId: d.runId, deliveryId: d.id, destinationType: d.type, code, error }, { correlationId: d.runId });
    });
  }

  /**
   * A transient failure: the delivery waits (visible with its code, error and next attempt) and
   * its next backup.deliver is held back in the outbox until `retryAt`, in one transaction.
   * False when the delivery was no longer running (another copy of the message finished it).
   */
  async scheduleRetry(d: DeliveryEntity, failure: { code: DeliveryCode; error: string; retryAt: Date; failingSince: Date }): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      const change = { to: 'pending', code: failure.code, error: failure.error, nextAttemptAt: failure.retryAt, failingSince: failure.failingSince } as const;
      if (!(await this.lifecycle.transitionDelivery(tx, d.id, change)).applied) return false;
      await this.outbox.enqueue(tx, 'backup.deliver', { runId: d.runId, deliveryId: d.id }, { correlationId: d.runId, availableAt: failure.retryAt });
      return true;
    });
  }

  /**
   * Due to start outside its upload window: the delivery waits (`waiting`, until `waitMs` from
   * now) and its next backup.deliver is held back in the outbox until then, in one transaction.
   * Returns when it starts, or null when the delivery was not due (an early copy of the message:
   * the scheduled one comes) or final meanwhile.
   */
  async holdForWindow(d: DeliveryEntity, waitMs: number): Promise<Date | null> {
    return this.dataSource.transaction(async (tx) => {
      const held = await this.lifecycle.transitionDelivery(tx, d.id, { to: 'waiting', waitMs });
      if (!held.applied || !held.heldUntil) return null;
      await this.outbox.enqueue(tx, 'backup.deliver', { runId: d.runId, deliveryId: d.id }, { correlationId: d.runId, availableAt: held.heldUntil });
      return held.heldUntil;
    });
  }

  /**
   * Succeeded, not yet pruned files of one destination and configuration (retentionPlan orders
   * them), each with the folder its run wrote it to: the configuration's name at the time.
   */
  async keptFiles(destinationId: string, configurationId: string, manager: EntityManager = this.dataSource.manager): Promise<KeptFile[]> {
    return manager.query(
      `SELECT d.id, r.snapshot->>'name' AS folder, r.artifact_file_name AS "fileName", COALESCE(r.scheduled_for, r.created_at) AS "takenAt", d.finished_at AS "finishedAt"
         FROM deliveries d JOIN runs r ON r.id = d.run_id
        WHERE d.destination_id = $1 AND r.configuration_id = $2 AND d.status = 'succeeded' AND d.pruned_at IS NULL`,
      [destinationId, configurationId],
    );
  }

  async markPruned(deliveryId: string): Promise<void> {
    await this.lifecycle.markPruned(this.dataSource.manager, deliveryId);
  }

  /**
   * Runs `judge` in a transaction holding the run's row lock (the last two deliveries of a run
   * may finish at the same moment), with the run and its deliveries as they are now.
   */
  async withRunLocked(runId: string, judge: (tx: EntityManager, run: LockedRun, deliveries: DeliverySummary[]) => Promise<void>): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const [run]: LockedRun[] = await tx.query('SELECT id, kind, status FROM runs WHERE id = $1 FOR UPDATE', [runId]);
      if (!run) return;
      const deliveries: DeliverySummary[] = await tx.query('SELECT type, target, status, code FROM deliveries WHERE run_id = $1', [runId]);
      await judge(tx, run, deliveries);
    });
  }

  /**
   * Runs still dispatching although every delivery is final: their close failed (or never
   * ran). A run without deliveries yet is still being fanned out, so it is not one of them.
   */
  async findUnclosedRuns(limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT r.id FROM runs r
        WHERE r.status = 'dispatching' AND r.delivered_at IS NULL
          AND EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.id)
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = r.id AND d.status NOT IN ('succeeded', 'failed'))
        ORDER BY r.created_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** An archive run's deliveries all answered: the archiver takes over, once; false when it had already. */
  async handOverArchive(tx: EntityManager, runId: string, allSucceeded: boolean): Promise<boolean> {
    if (!(await this.lifecycle.markDelivered(tx, runId))) return false;
    await this.outbox.enqueue(tx, 'archive.delivered', { runId, allSucceeded }, { correlationId: runId });
    return true;
  }

  /** A backup run's result with its event; false when the run was final already. */
  async finishBackup(tx: EntityManager, runId: string, result: { status: 'succeeded' | FailedRunStatus; error: string | null }): Promise<boolean> {
    await this.lifecycle.markDelivered(tx, runId);
    if (!(await this.lifecycle.transition(tx, runId, { to: result.status, error: result.error })).applied) return false;
    if (result.status === 'succeeded') await this.outbox.enqueue(tx, 'backup.succeeded', { runId }, { correlationId: runId });
    else await this.outbox.enqueue(tx, 'backup.failed', { runId, status: result.status, step: 'delivery', error: result.error }, { correlationId: runId });
    return true;
  }

  /** Final runs whose artifact outlived the download window; `remove` runs for each under its row lock. */
  async removeExpiredArtifacts(windowMs: number, remove: (runId: string) => Promise<void>): Promise<number> {
    return this.dataSource.transaction(async (tx) => {
      const ids = await this.lifecycle.claimExpiredArtifacts(tx, windowMs, 100);
      for (const id of ids) {
        await remove(id);
        await this.lifecycle.markArtifactRemoved(tx, id);
      }
      return ids.length;
    });
  }
}

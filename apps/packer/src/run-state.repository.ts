import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { runStatusAfterDelivery, type MessageType, type RunKind } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { isConfigurationRun, RunEntity, RunLifecycle, type CancelWatch, type ConfigurationRun, type Deferral, type RunProgress } from '@pbx/persistence';
import type { HolderRunState } from './deferral-rule';
import type { SarArtifact } from './packer.types';

/** The messages a deferral holds back: a run's due event, an archive run's deletion. */
const HELD_BACK: readonly MessageType[] = ['backup.due', 'archive.due', 'archive.delivered'];

/** A run waiting for the maintenance lock: its message is held back, `heldBy` is whom it waits for. */
export interface WaitingRun {
  runId: string;
  kind: RunKind;
  heldBy: string | null;
}

/**
 * Run state changes of the packing step, each with its event in one transaction. The
 * statuses themselves are RunLifecycle's; an event is written only when its change applied,
 * so a replayed message announces nothing twice.
 */
@Injectable()
export class RunStateRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly lifecycle: RunLifecycle,
  ) {}

  /** A backup or archive run (a `safety` run is never packed: null). */
  async findRun(runId: string): Promise<ConfigurationRun | null> {
    const run = await this.dataSource.manager.findOne(RunEntity, { where: { id: runId } });
    return run && isConfigurationRun(run) ? run : null;
  }

  /** What the run of a lock holder looks like now; null when there is no such run here. */
  async holderRunState(runId: string): Promise<HolderRunState> {
    const run = await this.findRun(runId);
    return run ? { status: run.status, packed: run.packedAt !== null } : null;
  }

  /** Runs whose message a deferral holds back (deferred runs, archive deletions waiting for the lock). */
  async waitingRuns(limit: number): Promise<WaitingRun[]> {
    return this.dataSource.query(
      `SELECT r.id AS "runId", r.kind, r.deferrals -> -1 ->> 'heldBy' AS "heldBy"
         FROM runs r
        WHERE r.id::text IN (SELECT o.correlation_id FROM outbox o
                              WHERE o.published_at IS NULL AND o.available_at > now() AND o.type = ANY($1::varchar[]))
          AND (r.status = 'deferred' OR (r.kind = 'archive' AND r.status = 'dispatching'))
          AND jsonb_array_length(r.deferrals) > 0
        LIMIT $2`,
      [HELD_BACK, limit],
    );
  }

  /** The lock a run waits for freed early: its held-back message goes now. False when another packer did it. */
  async resumeNow(runId: string): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      if (!(await this.outbox.bringForward(tx, runId, HELD_BACK))) return false;
      await this.lifecycle.endDeferral(tx, runId); // else the message would be taken for an older copy (isStaleDue)
      return true;
    });
  }

  /** The configuration's sealed archive passphrase; null when none is stored. */
  async sealedEncryptionPassphrase(configurationId: string): Promise<string | null> {
    const [row] = await this.dataSource.query('SELECT encryption_passphrase FROM configurations WHERE id = $1', [configurationId]);
    return (row as { encryption_passphrase: string | null } | undefined)?.encryption_passphrase ?? null;
  }

  /** Aborts its signal once the run is cancelled (read at CANCEL_CHECK_MS while the work goes on). */
  watchForCancel(runId: string): CancelWatch {
    return this.lifecycle.watchForCancel(this.dataSource.manager, runId);
  }

  async isCancelled(runId: string): Promise<boolean> {
    return (await this.findRun(runId))?.status === 'cancelled';
  }

  /** False when the run is past packing (another packer finished it meanwhile). */
  async markPacking(runId: string): Promise<boolean> {
    return (await this.lifecycle.transition(this.dataSource.manager, runId, { to: 'packing' })).applied;
  }

  async saveProgress(runId: string, progress: RunProgress): Promise<void> {
    await this.lifecycle.saveProgress(this.dataSource.manager, runId, progress);
  }

  /** The run waits: its due event is written again, held back until `until`. */
  async defer(run: ConfigurationRun, delayMs: number, heldBy: string | null): Promise<Date> {
    const at = new Date();
    const until = new Date(at.getTime() + delayMs);
    await this.dataSource.transaction(async (tx) => {
      const deferral: Deferral = { at: at.toISOString(), until: until.toISOString(), heldBy };
      if (!(await this.lifecycle.transition(tx, run.id, { to: 'deferred', deferral })).applied) return;
      if (run.kind === 'archive') await this.outbox.enqueue(tx, 'archive.due', { runId: run.id, kind: 'archive' }, { correlationId: run.id, availableAt: until });
      else await this.outbox.enqueue(tx, 'backup.due', { runId: run.id, kind: 'backup' }, { correlationId: run.id, availableAt: until });
      await this.outbox.enqueue(tx, 'backup.deferred', { runId: run.id, kind: run.kind, deferredUntil: until.toISOString(), heldBy: heldBy ?? 'unknown' }, { correlationId: run.id });
    });
    return until;
  }

  /** False when the run was no longer packing (cancelled meanwhile, or finished by another packer). */
  async markPacked(run: ConfigurationRun, artifact: SarArtifact, counts: Record<string, number>, entries: number): Promise<boolean> {
    const progress: RunProgress = { bytes: artifact.size, entriesDone: entries, entriesTotal: entries, updatedAt: new Date().toISOString() };
    return this.dataSource.transaction(async (tx) => {
      if (!(await this.lifecycle.transition(tx, run.id, { to: 'dispatching', artifact, counts, progress })).applied) return false;
      await this.outbox.enqueue(tx, 'backup.packed', { runId: run.id, kind: run.kind, artifact }, { correlationId: run.id });
      return true;
    });
  }

  async markFailed(run: RunEntity, error: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      if (!(await this.lifecycle.transition(tx, run.id, { to: 'failed', error })).applied) return;
      if (run.kind === 'archive') await this.outbox.enqueue(tx, 'archive.failed', { runId: run.id, step: 'packing', error }, { correlationId: run.id });
      else await this.outbox.enqueue(tx, 'backup.failed', { runId: run.id, status: 'failed', step: 'packing', error }, { correlationId: run.id });
    });
  }

  /** Deletion must wait for the lock: the finalize event comes back at `until`. */
  async deferArchiveFinalize(run: RunEntity, delayMs: number, heldBy: string | null): Promise<Date> {
    const at = new Date();
    const until = new Date(at.getTime() + delayMs);
    await this.dataSource.transaction(async (tx) => {
      await this.lifecycle.recordDeferral(tx, run.id, { at: at.toISOString(), until: until.toISOString(), heldBy });
      await this.outbox.enqueue(tx, 'archive.delivered', { runId: run.id, allSucceeded: true }, { correlationId: run.id, availableAt: until });
    });
    return until;
  }

  /** The archive run's end: succeeded after deletion, or failed/partially failed with nothing deleted. */
  async finishArchive(run: RunEntity, result: { deleted: Record<string, number> | null; error: string | null }): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const [{ ok, total }]: { ok: number; total: number }[] = await tx.query(
        `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS ok, count(*)::int AS total FROM deliveries WHERE run_id = $1`,
        [run.id],
      );
      const to = runStatusAfterDelivery({ succeeded: ok, total }, result.deleted !== null);
      if (!(await this.lifecycle.transition(tx, run.id, { to, error: result.error, counts: result.deleted ?? {} })).applied) return;
      if (result.deleted) await this.outbox.enqueue(tx, 'archive.succeeded', { runId: run.id }, { correlationId: run.id });
      else await this.outbox.enqueue(tx, 'archive.failed', { runId: run.id, step: 'delivery', error: result.error }, { correlationId: run.id });
    });
  }
}

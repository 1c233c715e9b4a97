import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxWriter } from '@pbx/messaging';
import { RunEntity, RunLifecycle, type Deferral, type RunProgress } from '@pbx/persistence';
import type { SarArtifact } from './packer.types';

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

  findRun(runId: string): Promise<RunEntity | null> {
    return this.dataSource.manager.findOne(RunEntity, { where: { id: runId } });
  }

  /** False when the run is past packing (another packer finished it meanwhile). */
  async markPacking(runId: string): Promise<boolean> {
    return (await this.lifecycle.transition(this.dataSource.manager, runId, { to: 'packing' })).applied;
  }

  async saveProgress(runId: string, progress: RunProgress): Promise<void> {
    await this.lifecycle.saveProgress(this.dataSource.manager, runId, progress);
  }

  /** The run waits: its due event is written again, held back until `until`. */
  async defer(run: RunEntity, delayMs: number, heldBy: string | null): Promise<Date> {
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

  async markPacked(run: RunEntity, artifact: SarArtifact, counts: Record<string, number>, entries: number): Promise<void> {
    const progress: RunProgress = { bytes: artifact.size, entriesDone: entries, entriesTotal: entries, updatedAt: new Date().toISOString() };
    await this.dataSource.transaction(async (tx) => {
      if (!(await this.lifecycle.transition(tx, run.id, { to: 'dispatching', artifact, counts, progress })).applied) return;
      await this.outbox.enqueue(tx, 'backup.packed', { runId: run.id, kind: run.kind, artifact }, { correlationId: run.id });
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
      const to = result.deleted ? 'succeeded' : ok > 0 && ok < total ? 'partially_failed' : 'failed';
      if (!(await this.lifecycle.transition(tx, run.id, { to, error: result.error, counts: result.deleted ?? {} })).applied) return;
      if (result.deleted) await this.outbox.enqueue(tx, 'archive.succeeded', { runId: run.id }, { correlationId: run.id });
      else await this.outbox.enqueue(tx, 'archive.failed', { runId: run.id, step: 'delivery', error: result.error }, { correlationId: run.id });
    });
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxWriter } from '@pbx/messaging';
import { eraseEphemeralDestinationSecrets, RunEntity, type Deferral, type RunProgress } from '@pbx/persistence';
import type { SarArtifact } from './packer.types';

/** Run state changes of the packing step, each with its event in one transaction. */
@Injectable()
export class RunStateRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  findRun(runId: string): Promise<RunEntity | null> {
    return this.dataSource.manager.findOne(RunEntity, { where: { id: runId } });
  }

  async markPacking(runId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE runs SET status = 'packing', started_at = COALESCE(started_at, now()), deferred_until = NULL, error = NULL, progress = NULL, updated_at = now() WHERE id = $1`,
      [runId],
    );
  }

  async saveProgress(runId: string, progress: RunProgress): Promise<void> {
    await this.dataSource.query(`UPDATE runs SET progress = $2, updated_at = now() WHERE id = $1 AND status = 'packing'`, [runId, JSON.stringify(progress)]);
  }

  /** The run waits: its due event is written again, held back until `until`. */
  async defer(run: RunEntity, delayMs: number, heldBy: string | null): Promise<Date> {
    const at = new Date();
    const until = new Date(at.getTime() + delayMs);
    await this.dataSource.transaction(async (tx) => {
      const deferral: Deferral = { at: at.toISOString(), until: until.toISOString(), heldBy };
      await tx.query(
        `UPDATE runs SET status = 'deferred', deferred_until = $2, deferrals = deferrals || $3::jsonb, updated_at = now() WHERE id = $1`,
        [run.id, until.toISOString(), JSON.stringify([deferral])],
      );
      if (run.kind === 'archive') await this.outbox.enqueue(tx, 'archive.due', { runId: run.id, kind: 'archive' }, { correlationId: run.id, availableAt: until });
      else await this.outbox.enqueue(tx, 'backup.due', { runId: run.id, kind: 'backup' }, { correlationId: run.id, availableAt: until });
      await this.outbox.enqueue(tx, 'backup.deferred', { runId: run.id, kind: run.kind, deferredUntil: until.toISOString(), heldBy: heldBy ?? 'unknown' }, { correlationId: run.id });
    });
    return until;
  }

  async markPacked(run: RunEntity, artifact: SarArtifact, counts: Record<string, number>, entries: number): Promise<void> {
    const progress: RunProgress = { bytes: artifact.size, entriesDone: entries, entriesTotal: entries, updatedAt: new Date().toISOString() };
    await this.dataSource.transaction(async (tx) => {
      await tx.query(
        `UPDATE runs SET status = 'dispatching', packed_at = now(), artifact_file_name = $2, artifact_size = $3, artifact_sha256 = $4,
                counts = COALESCE(counts, '{}'::jsonb) || $5::jsonb, progress = $6::jsonb, updated_at = now()
          WHERE id = $1`,
        [run.id, artifact.fileName, artifact.size, artifact.sha256, JSON.stringify(counts), JSON.stringify(progress)],
      );
      await this.outbox.enqueue(tx, 'backup.packed', { runId: run.id, kind: run.kind, artifact }, { correlationId: run.id });
    });
  }

  async markFailed(run: RunEntity, error: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(`UPDATE runs SET status = 'failed', error = $2, finished_at = now(), updated_at = now() WHERE id = $1`, [run.id, error]);
      await eraseEphemeralDestinationSecrets(tx, run.configurationId);
      if (run.kind === 'archive') await this.outbox.enqueue(tx, 'archive.failed', { runId: run.id, step: 'packing', error }, { correlationId: run.id });
      else await this.outbox.enqueue(tx, 'backup.failed', { runId: run.id, status: 'failed', step: 'packing', error }, { correlationId: run.id });
    });
  }

  /** Deletion must wait for the lock: the finalize event comes back at `until`. */
  async deferArchiveFinalize(run: RunEntity, delayMs: number, heldBy: string | null): Promise<Date> {
    const at = new Date();
    const until = new Date(at.getTime() + delayMs);
    await this.dataSource.transaction(async (tx) => {
      const deferral: Deferral = { at: at.toISOString(), until: until.toISOString(), heldBy };
      await tx.query(`UPDATE runs SET deferrals = deferrals || $2::jsonb, updated_at = now() WHERE id = $1`, [run.id, JSON.stringify([deferral])]);
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
      const status = result.deleted ? 'succeeded' : ok > 0 && ok < total ? 'partially_failed' : 'failed';
      await tx.query(
        `UPDATE runs SET status = $2, error = $3, finished_at = now(), counts = COALESCE(counts, '{}'::jsonb) || $4::jsonb, updated_at = now() WHERE id = $1`,
        [run.id, status, result.error, JSON.stringify(result.deleted ?? {})],
      );
      await eraseEphemeralDestinationSecrets(tx, run.configurationId);
      if (result.deleted) {
        await tx.query(`UPDATE configurations SET last_success_at = now(), stale_alerted_at = NULL WHERE id = $1`, [run.configurationId]);
        await this.outbox.enqueue(tx, 'archive.succeeded', { runId: run.id }, { correlationId: run.id });
      } else {
        await this.outbox.enqueue(tx, 'archive.failed', { runId: run.id, step: 'delivery', error: result.error }, { correlationId: run.id });
      }
    });
  }
}

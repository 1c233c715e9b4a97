import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxWriter } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';
import { eraseEphemeralDestinationSecrets, FINAL_RUN_STATUSES, type RunStatus } from '@pbx/persistence';
import { ROOT_LOGGER } from '@pbx/runtime';

interface DeliverySummary {
  type: string;
  target: string;
  status: string;
  code: string | null;
}

/** The run's result once every delivery is final. */
export function runResult(deliveries: DeliverySummary[]): { status: RunStatus; error: string | null } | null {
  if (deliveries.some((d) => d.status !== 'succeeded' && d.status !== 'failed')) return null;
  const failed = deliveries.filter((d) => d.status === 'failed');
  if (!failed.length) return { status: 'succeeded', error: null };
  const status: RunStatus = failed.length === deliveries.length ? 'failed' : 'partially_failed';
  const list = failed.map((d) => `${d.target || d.type}: ${d.code ?? 'ioError'}`).join('; ');
  return { status, error: `${failed.length} of ${deliveries.length} destinations failed: ${list}` };
}

/**
 * Closes a run when its last delivery became final: backups get their final status and
 * backup.succeeded / backup.failed (a runOnly configuration's secrets are erased then);
 * archive runs hand over to the archiver (which deletes
 * the archived items only when every destination confirmed the file).
 */
@Injectable()
export class RunFinalizerService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async finalizeIfDone(runId: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      // Row lock: the last two deliveries of a run may finish at the same moment.
      const [run]: { id: string; kind: string; status: RunStatus; configuration_id: string }[] = await tx.query(
        'SELECT id, kind, status, configuration_id FROM runs WHERE id = $1 FOR UPDATE',
        [runId],
      );
      if (!run || FINAL_RUN_STATUSES.includes(run.status)) return;
      const deliveries: DeliverySummary[] = await tx.query('SELECT type, target, status, code FROM deliveries WHERE run_id = $1', [runId]);
      const result = runResult(deliveries);
      if (!result) return;
      if (run.kind === 'archive') {
        const [already] = await tx.query(`SELECT 1 FROM outbox WHERE type = 'archive.delivered' AND correlation_id = $1 LIMIT 1`, [runId]);
        if (!already) await this.outbox.enqueue(tx, 'archive.delivered', { runId, allSucceeded: result.status === 'succeeded' }, { correlationId: runId });
        return;
      }
      await tx.query('UPDATE runs SET status = $2, error = $3, finished_at = now(), updated_at = now() WHERE id = $1', [runId, result.status, result.error]);
      await eraseEphemeralDestinationSecrets(tx, run.configuration_id);
      if (result.status === 'succeeded') {
        await tx.query('UPDATE configurations SET last_success_at = now(), stale_alerted_at = NULL WHERE id = $1', [run.configuration_id]);
        await this.outbox.enqueue(tx, 'backup.succeeded', { runId }, { correlationId: runId });
      } else {
        await this.outbox.enqueue(tx, 'backup.failed', { runId, status: result.status as 'failed' | 'partially_failed', step: 'delivery', error: result.error }, { correlationId: runId });
      }
      this.logger.info({ status: result.status }, 'run finished');
    });
  }
}

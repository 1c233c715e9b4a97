import { Inject, Injectable } from '@nestjs/common';
import { isFinalRunStatus, runStatusAfterDelivery, type FailedRunStatus } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import { ROOT_LOGGER } from '@pbx/runtime';
import { DeliveriesRepository, type DeliverySummary } from './deliveries.repository';

/** The run's result once every delivery is final. */
export function runResult(deliveries: DeliverySummary[]): { status: 'succeeded' | FailedRunStatus; error: string | null } | null {
  if (deliveries.some((d) => d.status !== 'succeeded' && d.status !== 'failed')) return null;
  const failed = deliveries.filter((d) => d.status === 'failed');
  const status = runStatusAfterDelivery({ succeeded: deliveries.length - failed.length, total: deliveries.length });
  if (status === 'succeeded') return { status, error: null };
  const list = failed.map((d) => `${d.target || d.type}: ${d.code ?? 'ioError'}`).join('; ');
  return { status, error: `${failed.length} of ${deliveries.length} destinations failed: ${list}` };
}

/**
 * Closes a run when its last delivery became final: backups get their final status and
 * backup.succeeded / backup.failed; archive runs hand over to the archiver (which deletes
 * the archived items only when every destination confirmed the file), once: the run records
 * that its deliveries answered.
 */
@Injectable()
export class RunFinalizerService {
  constructor(
    private readonly repo: DeliveriesRepository,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * True when this call closed the run (or handed it over); false when it is not done yet or
   * someone closed it first. Safe to call any number of times, from any replica.
   */
  async finalizeIfDone(runId: string): Promise<boolean> {
    let closed = false;
    await this.repo.withRunLocked(runId, async (tx, run, deliveries) => {
      if (isFinalRunStatus(run.status)) return;
      const result = runResult(deliveries);
      if (!result) return;
      if (run.kind === 'archive') closed = await this.repo.handOverArchive(tx, runId, result.status === 'succeeded');
      else if ((closed = await this.repo.finishBackup(tx, runId, result))) this.logger.info({ status: result.status }, 'run finished');
    });
    return closed;
  }
}

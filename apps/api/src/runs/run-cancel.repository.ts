import { DataSource } from 'typeorm';
import { isFinalRunStatus, type MessageType, type RunKind, type RunStatus } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { RunLifecycle } from '@pbx/persistence';

/** Messages a cancelled run leaves with nothing to do while they are held back: a deferral's due event, a delivery's retry. */
const HELD_BACK: readonly MessageType[] = ['backup.due', 'archive.due', 'backup.deliver'];

export type CancelOutcome =
  | { outcome: 'cancelled' | 'alreadyCancelled' }
  /** Final already, or (`status` not final) an archive run whose deliveries all answered: its deletion is under way. */
  | { outcome: 'tooLate'; status: RunStatus }
  | { outcome: 'notFound' };

/**
 * A cancel in one transaction under the run's row lock (the dispatcher closes a run under the
 * same lock): RunLifecycle makes it `cancelled` and ends its pending deliveries, the held-back
 * messages go, and `run.cancelled` is written. Workers holding the run see the row at their
 * next safe point (watchForCancel) and clean up.
 */
export class RunCancelRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly lifecycle: RunLifecycle = new RunLifecycle(),
  ) {}

  cancel(runId: string): Promise<CancelOutcome> {
    return this.dataSource.transaction(async (tx) => {
      const [run]: { kind: RunKind; status: RunStatus }[] = await tx.query('SELECT kind, status FROM runs WHERE id = $1 FOR UPDATE', [runId]);
      if (!run) return { outcome: 'notFound' };
      if (run.status === 'cancelled') return { outcome: 'alreadyCancelled' };
      // A safety run is created final, so it is never cancelled.
      if (isFinalRunStatus(run.status) || run.kind === 'safety') return { outcome: 'tooLate', status: run.status };
      if (!(await this.lifecycle.transition(tx, runId, { to: 'cancelled', error: null })).applied) return { outcome: 'tooLate', status: run.status };
      await this.outbox.discardHeldBack(tx, runId, HELD_BACK);
      await this.outbox.enqueue(tx, 'run.cancelled', { runId, kind: run.kind, previousStatus: run.status }, { correlationId: runId });
      return { outcome: 'cancelled' };
    });
  }
}

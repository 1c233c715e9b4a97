import { DataSource, IsNull } from 'typeorm';
import { OutboxWriter } from '@pbx/messaging';
import { DeliveryEntity } from '@pbx/persistence';

/** Asks the dispatcher to read a run's stored copies back (backup.verify-requested). */
export class RunVerificationRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  /** How many copies of the run should be at their destinations (delivered, not pruned). */
  storedCopies(runId: string): Promise<number> {
    return this.dataSource.manager.count(DeliveryEntity, { where: { runId, status: 'succeeded', prunedAt: IsNull() } });
  }

  async request(runId: string): Promise<void> {
    await this.dataSource.transaction((tx) => this.outbox.enqueue(tx, 'backup.verify-requested', { runId, reason: 'manual' }, { correlationId: runId }));
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource, In, IsNull } from 'typeorm';
import type { DestinationType, VerificationResult } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { DeliveryEntity, DestinationEntity, RunEntity } from '@pbx/persistence';

export type VerifyReason = 'manual' | 'afterUpload' | 'schedule';

export interface VerificationRecord {
  deliveryId: string;
  destinationType: DestinationType;
  result: VerificationResult;
}

/**
 * The read-back results of stored copies: the one writer of deliveries.verification and
 * verified_at, and of the run.verified event that goes with them.
 */
@Injectable()
export class VerificationsRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
  ) {}

  findRun(runId: string): Promise<RunEntity | null> {
    return this.dataSource.manager.findOne(RunEntity, { where: { id: runId } });
  }

  findDestination(id: string): Promise<DestinationEntity | null> {
    return this.dataSource.manager.findOne(DestinationEntity, { where: { id, removedAt: IsNull() } });
  }

  /** The run's copies that should be at their destinations: delivered and not removed by retention. */
  storedCopies(runId: string, deliveryIds?: readonly string[]): Promise<DeliveryEntity[]> {
    return this.dataSource.manager.find(DeliveryEntity, {
      where: { runId, status: 'succeeded', prunedAt: IsNull(), ...(deliveryIds ? { id: In([...deliveryIds]) } : {}) },
    });
  }

  async record(runId: string, reason: VerifyReason, results: readonly VerificationRecord[]): Promise<void> {
    if (!results.length) return;
    await this.dataSource.transaction(async (tx) => {
      const now = new Date();
      for (const r of results) await tx.update(DeliveryEntity, { id: r.deliveryId }, { verification: r.result, verifiedAt: now });
      await this.outbox.enqueue(tx, 'run.verified', { runId, reason, results: [...results] }, { correlationId: runId });
    });
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource, In, IsNull } from 'typeorm';
import type { DestinationType, VerificationResult, VerifySettings } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { DeliveryEntity, DestinationEntity, RunEntity } from '@pbx/persistence';

export type VerifyReason = 'manual' | 'afterUpload' | 'schedule';

export interface VerificationRecord {
  deliveryId: string;
  destinationType: DestinationType;
  result: VerificationResult;
}

export interface ScheduledCandidate {
  deliveryId: string;
  runId: string;
  lastCheckedAt: Date;
  schedule: NonNullable<VerifySettings['schedule']>;
  startAt: string | null;
  timezone: string;
  createdAt: Date;
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

  /**
   * The newest stored copy at every destination of each backup configuration with a verify
   * schedule (e-mail copies cannot be read back), with what its due time is computed from.
   */
  async scheduledCopies(): Promise<ScheduledCandidate[]> {
    const rows: (Omit<ScheduledCandidate, 'schedule'> & { schedule: string })[] = await this.dataSource.query(
      `SELECT DISTINCT ON (d.destination_id)
              d.id AS "deliveryId", d.run_id AS "runId", COALESCE(d.verified_at, d.finished_at) AS "lastCheckedAt",
              c.verify->>'schedule' AS schedule, c.start_at AS "startAt", c.timezone, c.created_at AS "createdAt"
         FROM deliveries d
         JOIN runs r ON r.id = d.run_id
         JOIN configurations c ON c.id = r.configuration_id
         JOIN destinations dest ON dest.id = d.destination_id
        WHERE c.kind = 'backup' AND c.deleted_at IS NULL AND c.ephemeral = false AND c.verify ? 'schedule'
          AND dest.removed_at IS NULL AND d.type <> 'email' AND d.status = 'succeeded' AND d.pruned_at IS NULL AND d.finished_at IS NOT NULL
        ORDER BY d.destination_id, d.finished_at DESC`,
    );
    return rows.map((r) => ({ ...r, schedule: r.schedule as ScheduledCandidate['schedule'] }));
  }

  /**
   * Asks for the scheduled read-back of one copy unless it was asked for since `dueAt` (by this
   * or another replica: the outbox row is the record, and a transaction-scoped advisory lock on
   * the delivery orders replicas racing for it). True when this call asked.
   */
  async requestScheduled(candidate: Pick<ScheduledCandidate, 'deliveryId' | 'runId'>, dueAt: Date): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('verify:' || $1))`, [candidate.deliveryId]);
      const [asked] = await tx.query(
        `SELECT 1 FROM outbox WHERE type = 'backup.verify-requested' AND correlation_id = $1 AND created_at >= $2
            AND payload @> jsonb_build_object('reason', 'schedule', 'deliveryIds', jsonb_build_array($3::text)) LIMIT 1`,
        [candidate.runId, dueAt, candidate.deliveryId],
      );
      if (asked) return false;
      await this.outbox.enqueue(tx, 'backup.verify-requested', { runId: candidate.runId, reason: 'schedule', deliveryIds: [candidate.deliveryId] }, { correlationId: candidate.runId });
      return true;
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

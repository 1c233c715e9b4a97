import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import type { DeliveryCode } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { DeliveryEntity, DestinationEntity, RunEntity } from '@pbx/persistence';
import type { KeptFile } from './retention';

export interface NewDelivery {
  destinationId: string;
  type: DeliveryEntity['type'];
  target: string;
}

/** Deliveries and the events that go with their state changes. */
@Injectable()
export class DeliveriesRepository {
  constructor(
    readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
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
      let created = 0;
      for (const d of deliveries) {
        const rows: { id: string }[] = await tx.query(
          `INSERT INTO deliveries (run_id, destination_id, type, target) VALUES ($1, $2, $3, $4)
           ON CONFLICT (run_id, destination_id) DO NOTHING RETURNING id`,
          [runId, d.destinationId, d.type, d.target.slice(0, 300)],
        );
        if (!rows.length) continue;
        created++;
        await this.outbox.enqueue(tx, 'backup.deliver', { runId, deliveryId: rows[0].id }, { correlationId: runId });
      }
      return created;
    });
  }

  /** Marks an attempt started; returns the attempt number. */
  async startAttempt(id: string): Promise<number> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [{ attempts: number }[], number] = await this.dataSource.query(
      `UPDATE deliveries SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, now()), error = NULL, bytes_sent = 0
        WHERE id = $1 RETURNING attempts`,
      [id],
    );
    return rows[0].attempts;
  }

  async saveProgress(id: string, bytes: number): Promise<void> {
    await this.dataSource.query(`UPDATE deliveries SET bytes_sent = $2 WHERE id = $1 AND status = 'running'`, [id, bytes]);
  }

  async succeed(d: DeliveryEntity, location: string, target: string, bytes: number): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(
        `UPDATE deliveries SET status = 'succeeded', code = 'successful', location = $2, target = $3, bytes_sent = $4, error = NULL, finished_at = now() WHERE id = $1`,
        [d.id, location, target.slice(0, 300), bytes],
      );
      await this.outbox.enqueue(tx, 'delivery.succeeded', { runId: d.runId, deliveryId: d.id, destinationType: d.type, location }, { correlationId: d.runId });
    });
  }

  async fail(d: DeliveryEntity, code: DeliveryCode, error: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(`UPDATE deliveries SET status = 'failed', code = $2, error = $3, finished_at = now() WHERE id = $1`, [d.id, code, error]);
      await this.outbox.enqueue(tx, 'delivery.failed', { runId: d.runId, deliveryId: d.id, destinationType: d.type, code, error }, { correlationId: d.runId });
    });
  }

  /** A transient failure that will be retried: visible on the delivery meanwhile. */
  async noteRetry(id: string, code: DeliveryCode, error: string): Promise<void> {
    await this.dataSource.query(`UPDATE deliveries SET status = 'pending', code = $2, error = $3 WHERE id = $1`, [id, code, error]);
  }

  /** Succeeded, not yet pruned files of one destination and configuration (retentionPlan orders them). */
  async keptFiles(destinationId: string, configurationId: string, manager: EntityManager = this.dataSource.manager): Promise<KeptFile[]> {
    return manager.query(
      `SELECT d.id, r.artifact_file_name AS "fileName", COALESCE(r.scheduled_for, r.created_at) AS "takenAt", d.finished_at AS "finishedAt"
         FROM deliveries d JOIN runs r ON r.id = d.run_id
        WHERE d.destination_id = $1 AND r.configuration_id = $2 AND d.status = 'succeeded' AND d.pruned_at IS NULL`,
      [destinationId, configurationId],
    );
  }

  async markPruned(deliveryId: string): Promise<void> {
    await this.dataSource.query(`UPDATE deliveries SET pruned_at = now() WHERE id = $1`, [deliveryId]);
  }
}

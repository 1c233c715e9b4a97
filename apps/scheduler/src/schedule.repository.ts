import type { DataSource, EntityManager } from 'typeorm';
import { ConfigurationEntity } from '@pbx/persistence';

export interface NextRunUpdate {
  id: string;
  nextRunAt: Date | null;
}

/** The scheduler's SQL: claiming due configurations and moving their next_run_at. */
export class ScheduleRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Locks up to `limit` configurations due at `now` (both kinds), oldest slot first.
   * SKIP LOCKED: rows another replica is emitting are left to it, so replicas share the
   * work instead of queueing behind each other, and none sees a row twice.
   */
  lockDue(tx: EntityManager, now: Date, limit: number): Promise<ConfigurationEntity[]> {
    return tx
      .getRepository(ConfigurationEntity)
      .createQueryBuilder('c')
      .where('c.next_run_at <= :now', { now })
      .andWhere('c.deleted_at IS NULL')
      .andWhere('c.ephemeral = false')
      .orderBy('c.next_run_at', 'ASC')
      .limit(limit)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getMany();
  }

  /** Moves next_run_at of many rows in one statement (NULL = never runs on its own). */
  async setNextRunAt(tx: EntityManager, updates: NextRunUpdate[]): Promise<void> {
    if (!updates.length) return;
    await tx.query(
      `UPDATE configurations AS c SET next_run_at = v.next_run_at
         FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, next_run_at)
        WHERE c.id = v.id`,
      [updates.map((u) => u.id), updates.map((u) => (u.nextRunAt ? u.nextRunAt.toISOString() : null))],
    );
  }

  /** The earliest slot any schedulable configuration waits for (null: none scheduled). */
  async earliestNextRunAt(): Promise<Date | null> {
    const [row]: { next: Date | null }[] = await this.dataSource.query(
      `SELECT min(next_run_at) AS next FROM configurations
        WHERE next_run_at IS NOT NULL AND deleted_at IS NULL AND ephemeral = false`,
    );
    return row?.next ? new Date(row.next) : null;
  }
}

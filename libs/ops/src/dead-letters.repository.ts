import { DataSource, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import { DeadLetterEntity } from '@pbx/persistence';

export interface DeadLetterFilter {
  queue?: string;
  type?: string;
  runId?: string;
  includeDiscarded?: boolean;
}

/** I/O of the dead_letters table. */
export class DeadLettersRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  list(filter: DeadLetterFilter, offset: number, limit: number): Promise<[DeadLetterEntity[], number]> {
    return this.filtered(this.dataSource.manager, filter).orderBy('d.recorded_at', 'DESC').addOrderBy('d.id', 'DESC').skip(offset).take(limit).getManyAndCount();
  }

  findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<DeadLetterEntity | null> {
    return manager.findOne(DeadLetterEntity, { where: { id } });
  }

  /** Locks the row until the transaction ends: two replays of one letter serialize here. */
  lockById(tx: EntityManager, id: string): Promise<DeadLetterEntity | null> {
    return tx.findOne(DeadLetterEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  /** Up to `limit` open letters of a filter, locked; rows another replay holds are skipped. */
  lockOpen(tx: EntityManager, filter: DeadLetterFilter, limit: number): Promise<DeadLetterEntity[]> {
    return this.open(tx, filter).orderBy('d.recorded_at', 'ASC').take(limit).setLock('pessimistic_write').setOnLocked('skip_locked').getMany();
  }

  /**
   * Discards every open letter of a filter in one statement. A row a replay holds is waited
   * for and then re-checked, so a letter replayed meanwhile is not also discarded.
   */
  async discardOpen(filter: DeadLetterFilter, by: string): Promise<number> {
    const ids = this.open(this.dataSource.manager, filter).select('d.id');
    const result = await this.dataSource.manager
      .createQueryBuilder()
      .update(DeadLetterEntity)
      .set({ discardedAt: () => 'now()', discardedBy: by })
      .where(`id IN (${ids.getQuery()})`, ids.getParameters())
      .andWhere('replayed_at IS NULL AND discarded_at IS NULL')
      .execute();
    return result.affected ?? 0;
  }

  async markReplayed(tx: EntityManager, id: string, by: string): Promise<void> {
    await tx.update(DeadLetterEntity, { id }, { replayedAt: () => 'now()', replayedBy: by });
  }

  async markDiscarded(tx: EntityManager, id: string, by: string): Promise<void> {
    await tx.update(DeadLetterEntity, { id }, { discardedAt: () => 'now()', discardedBy: by });
  }

  /** Open: neither replayed nor discarded. */
  private open(manager: EntityManager, filter: DeadLetterFilter): SelectQueryBuilder<DeadLetterEntity> {
    return this.filtered(manager, { ...filter, includeDiscarded: false }).andWhere('d.replayed_at IS NULL');
  }

  private filtered(manager: EntityManager, f: DeadLetterFilter): SelectQueryBuilder<DeadLetterEntity> {
    const qb = manager.createQueryBuilder(DeadLetterEntity, 'd');
    if (f.queue) qb.andWhere('d.queue = :queue', { queue: f.queue });
    if (f.type) qb.andWhere('d.type = :type', { type: f.type });
    if (f.runId) qb.andWhere('d.correlation_id = :runId', { runId: f.runId });
    if (!f.includeDiscarded) qb.andWhere('d.discarded_at IS NULL');
    return qb;
  }
}

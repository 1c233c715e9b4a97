import { DataSource } from 'typeorm';
import { AuditEventEntity } from '@pbx/persistence';

export interface AuditEventRow {
  tokenId: string | null;
  tokenName: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  clientAddress: string | null;
  detail: Record<string, string | number | boolean | null> | null;
}

export interface AuditFilter {
  action?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
}

/** I/O of the audit_events table. */
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(row: AuditEventRow): Promise<void> {
    await this.dataSource.manager.insert(AuditEventEntity, row);
  }

  async list(filter: AuditFilter, offset: number, limit: number): Promise<[AuditEventEntity[], number]> {
    const q = this.dataSource.manager.createQueryBuilder(AuditEventEntity, 'e');
    if (filter.action) q.andWhere('e.action = :action', { action: filter.action });
    if (filter.targetId) q.andWhere('e.target_id = :targetId', { targetId: filter.targetId });
    if (filter.from) q.andWhere('e.at >= :from', { from: filter.from });
    if (filter.to) q.andWhere('e.at < :to', { to: filter.to });
    return q.orderBy('e.at', 'DESC').addOrderBy('e.id', 'DESC').skip(offset).take(limit).getManyAndCount();
  }

  /** Deletes up to `batch` events older than `cutoff`; returns how many. */
  async deleteOlderThan(cutoff: Date, batch: number): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1`,
      [cutoff, batch],
    );
    return rows.length;
  }
}

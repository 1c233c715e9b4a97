import { DataSource, In } from 'typeorm';
import { DeliveryEntity, RunEntity } from '@pbx/persistence';
import type { RunsQuery } from '../common/validation';

/** Read side of runs and deliveries for the api (runs of deleted configurations included). */
export class RunsQueryRepository {
  constructor(private readonly dataSource: DataSource) {}

  async list(q: RunsQuery, offset: number): Promise<[RunEntity[], number]> {
    const where: Partial<Record<'configurationId' | 'status' | 'kind', string>> = {};
    if (q.configurationId) where.configurationId = q.configurationId;
    if (q.status) where.status = q.status;
    if (q.kind) where.kind = q.kind;
    return this.dataSource.manager.findAndCount(RunEntity, {
      where: where as Record<string, string>,
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: offset,
      take: q.limit,
    });
  }

  findById(id: string): Promise<RunEntity | null> {
    return this.dataSource.manager.findOne(RunEntity, { where: { id } });
  }

  deliveriesOf(runIds: string[]): Promise<DeliveryEntity[]> {
    if (!runIds.length) return Promise.resolve([]);
    return this.dataSource.manager.find(DeliveryEntity, { where: { runId: In(runIds) } });
  }
}

import { DataSource, In, IsNull, type EntityManager } from 'typeorm';
import { nameKey, type ConfigurationKind, type RunStatus } from '@pbx/contracts';
import { ConfigurationEntity, DestinationEntity } from '@pbx/persistence';

export interface LastRunRow {
  configurationId: string;
  id: string;
  status: RunStatus;
  finishedAt: Date | null;
  createdAt: Date;
}

/** I/O of configurations and their destinations; every method takes the caller's manager. */
export class ConfigurationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  transaction<T>(fn: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** Whether another live, listed configuration of this kind has the name (compared by nameKey). */
  async nameTaken(manager: EntityManager, kind: ConfigurationKind, name: string, exceptId?: string): Promise<boolean> {
    const qb = manager
      .createQueryBuilder(ConfigurationEntity, 'c')
      .where('c.kind = :kind AND c.name_key = :key AND c.deleted_at IS NULL AND c.ephemeral = false', { kind, key: nameKey(name) });
    if (exceptId) qb.andWhere('c.id <> :id', { id: exceptId });
    return (await qb.getCount()) > 0;
  }

  /** A listed (not deleted, not ephemeral) configuration; `lock` takes FOR UPDATE. */
  findVisible(manager: EntityManager, kind: ConfigurationKind, id: string, lock = false): Promise<ConfigurationEntity | null> {
    return manager.findOne(ConfigurationEntity, {
      where: { id, kind, deletedAt: IsNull(), ephemeral: false },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
  }

  async list(kind: ConfigurationKind, offset: number, limit: number): Promise<[ConfigurationEntity[], number]> {
    return this.manager.findAndCount(ConfigurationEntity, {
      where: { kind, deletedAt: IsNull(), ephemeral: false },
      order: { createdAt: 'ASC', id: 'ASC' },
      skip: offset,
      take: limit,
    });
  }

  activeDestinations(manager: EntityManager, configurationIds: string[]): Promise<DestinationEntity[]> {
    if (configurationIds.length === 0) return Promise.resolve([]);
    return manager.find(DestinationEntity, {
      where: { configurationId: In(configurationIds), removedAt: IsNull() },
      order: { position: 'ASC' },
    });
  }

  /** The newest run of each configuration (one index range scan per id: runs_configuration_idx). */
  async lastRuns(manager: EntityManager, configurationIds: string[]): Promise<LastRunRow[]> {
    if (configurationIds.length === 0) return [];
    const rows: Array<{ configuration_id: string; id: string; status: RunStatus; finished_at: Date | null; created_at: Date }> = await manager.query(
      `SELECT DISTINCT ON (configuration_id) configuration_id, id, status, finished_at, created_at
         FROM runs WHERE configuration_id = ANY($1::uuid[])
        ORDER BY configuration_id, created_at DESC, id DESC`,
      [configurationIds],
    );
    return rows.map((r) => ({ configurationId: r.configuration_id, id: r.id, status: r.status, finishedAt: r.finished_at, createdAt: r.created_at }));
  }

  async nextPosition(manager: EntityManager, configurationId: string): Promise<number> {
    const [row] = await manager.query('SELECT COALESCE(MAX(position), -1) + 1 AS next FROM destinations WHERE configuration_id = $1', [configurationId]);
    return Number((row as { next: number | string }).next);
  }

  saveConfiguration(manager: EntityManager, entity: ConfigurationEntity): Promise<ConfigurationEntity> {
    return manager.save(ConfigurationEntity, entity);
  }

  saveDestinations(manager: EntityManager, entities: DestinationEntity[]): Promise<DestinationEntity[]> {
    return entities.length ? manager.save(DestinationEntity, entities) : Promise.resolve([]);
  }

  async removeDestinations(manager: EntityManager, ids: string[]): Promise<void> {
    if (ids.length) await manager.update(DestinationEntity, { id: In(ids) }, { removedAt: () => 'now()' });
  }

  async softDelete(manager: EntityManager, id: string): Promise<void> {
    await manager.update(ConfigurationEntity, { id }, { deletedAt: () => 'now()', nextRunAt: null });
  }
}

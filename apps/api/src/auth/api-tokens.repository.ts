import { DataSource, IsNull } from 'typeorm';
import { ApiTokenEntity } from '@pbx/persistence';

/** I/O of the api_tokens table. */
export class ApiTokensRepository {
  constructor(private readonly dataSource: DataSource) {}

  findActiveByHash(tokenHash: string): Promise<ApiTokenEntity | null> {
    return this.dataSource.manager.findOne(ApiTokenEntity, { where: { tokenHash, revokedAt: IsNull() } });
  }

  findActiveByName(name: string): Promise<ApiTokenEntity | null> {
    return this.dataSource.manager.findOne(ApiTokenEntity, { where: { name, revokedAt: IsNull() } });
  }

  async insert(name: string, tokenHash: string): Promise<ApiTokenEntity> {
    const row = this.dataSource.manager.create(ApiTokenEntity, { name, tokenHash });
    return this.dataSource.manager.save(row);
  }

  list(): Promise<ApiTokenEntity[]> {
    return this.dataSource.manager.find(ApiTokenEntity, { order: { createdAt: 'ASC' } });
  }

  /** Revokes the active tokens with this id or name; returns how many. */
  async revoke(idOrName: string, byId: boolean): Promise<number> {
    const result = await this.dataSource.manager
      .createQueryBuilder()
      .update(ApiTokenEntity)
      .set({ revokedAt: () => 'now()' })
      .where(byId ? 'id = :v' : 'name = :v', { v: idOrName })
      .andWhere('revoked_at IS NULL')
      .execute();
    return result.affected ?? 0;
  }
}

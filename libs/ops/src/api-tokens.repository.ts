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

  async insert(name: string, role: string, tokenHash: string): Promise<ApiTokenEntity> {
    const row = this.dataSource.manager.create(ApiTokenEntity, { name, role, tokenHash });
    return this.dataSource.manager.save(row);
  }

  list(): Promise<ApiTokenEntity[]> {
    return this.dataSource.manager.find(ApiTokenEntity, { order: { createdAt: 'ASC' } });
  }

  /** Revokes the active tokens with this id or name; returns them. */
  async revoke(idOrName: string, byId: boolean): Promise<ApiTokenEntity[]> {
    const result = await this.dataSource.manager
      .createQueryBuilder()
      .update(ApiTokenEntity)
      .set({ revokedAt: () => 'now()' })
      .where(byId ? 'id = :v' : 'name = :v', { v: idOrName })
      .andWhere('revoked_at IS NULL')
      .returning('*')
      .execute();
    return (result.raw as Array<Record<string, unknown>>).map((r) =>
      this.dataSource.manager.create(ApiTokenEntity, {
        id: r.id as string,
        name: r.name as string,
        role: r.role as string,
        tokenHash: r.token_hash as string,
        createdAt: r.created_at as Date,
        revokedAt: r.revoked_at as Date,
      }),
    );
  }
}

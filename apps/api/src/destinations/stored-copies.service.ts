import type { DataSource } from 'typeorm';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { ARCHIVE_EXTENSION, ENCRYPTED_ARCHIVE_EXTENSION, toDeliveryError, type DestinationRegistry } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { DestinationEntity } from '@pbx/persistence';
import type { SecretBox } from '@pbx/secrets';
import { notFound } from '../common/ids';
import { toDestinationConfig } from '../configurations/destination-secrets';

export interface StoredCopyResponse {
  file: string;
  size: number;
  modifiedAt: string | null;
  /** A delivery of this service wrote it (other files in the folder are someone else's). */
  writtenByThisService: boolean;
}

/** An archive of ours by its name: `.sar` or `.sar.age` (anything else in the folder is not a backup). */
export function isArchiveName(name: string): boolean {
  return name.endsWith(ARCHIVE_EXTENSION) || name.endsWith(ENCRYPTED_ARCHIVE_EXTENSION);
}

/** The backups stored at one destination of a configuration, listed from the destination itself. */
export class StoredCopiesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: DestinationRegistry,
    private readonly box: SecretBox,
    private readonly logger: Logger,
  ) {}

  async list(configurationId: string, destinationId: string): Promise<{ items: StoredCopyResponse[] }> {
    const row = await this.dataSource.manager
      .createQueryBuilder(DestinationEntity, 'd')
      .innerJoinAndSelect('d.configuration', 'c')
      .where('d.id = :destinationId AND d.configuration_id = :configurationId', { destinationId, configurationId })
      .andWhere("d.removed_at IS NULL AND c.deleted_at IS NULL AND c.kind = 'backup'")
      .getOne();
    if (!row?.configuration) throw notFound('destination in this configuration');
    let files;
    try {
      files = await this.registry.listDetailed(toDestinationConfig(row, this.box), row.configuration.name);
    } catch (err) {
      const e = toDeliveryError(err);
      this.logger.warn({ destinationId, code: e.code, err: e.message }, 'stored copies could not be listed');
      throw new DomainError(e.permanent ? ERROR_CODES.permanent : ERROR_CODES.transient, `the destination could not be listed: ${e.message}`, [], { code: e.code });
    }
    const ours = await this.writtenHere(destinationId);
    return {
      items: files
        .filter((f) => isArchiveName(f.name))
        .map((f) => ({ file: f.name, size: f.size, modifiedAt: f.modifiedAt?.toISOString() ?? null, writtenByThisService: ours.has(f.name.normalize('NFC')) })),
    };
  }

  /** The file names this service's deliveries put at the destination. */
  private async writtenHere(destinationId: string): Promise<Set<string>> {
    const rows: { name: string }[] = await this.dataSource.query(
      `SELECT DISTINCT r.artifact_file_name AS name FROM deliveries d JOIN runs r ON r.id = d.run_id
        WHERE d.destination_id = $1 AND d.status = 'succeeded' AND r.artifact_file_name IS NOT NULL`,
      [destinationId],
    );
    return new Set(rows.map((r) => r.name.normalize('NFC')));
  }
}

import type { DataSource } from 'typeorm';
import type { ArtifactStore } from '@pbx/artifacts';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { stagedArtifactOf } from '@pbx/destinations';
import { RunEntity, type RestoresRepository } from '@pbx/persistence';
import type { SecretBox } from '@pbx/secrets';
import { notFound } from '../common/ids';
import { offsetOf, pageOf, type Page } from '../common/pagination';
import type { PaginationQuery } from '../common/validation';
import { isArchiveName } from '../destinations/stored-copies.service';
import type { UploadsService } from '../uploads/uploads.service';
import { toRestoreResponse, type RestoreResponse } from './restore.mapper';
import type { RestoreRequest } from './restore.schema';

/**
 * Restores as the API sees them: the source is checked here (it exists and is whole), the
 * archive's key sealed into the restore's row, and the packer runs it (restore.requested).
 */
export class RestoresService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: RestoresRepository,
    private readonly uploads: UploadsService,
    private readonly box: SecretBox,
    private readonly artifacts: ArtifactStore,
  ) {}

  async start(req: RestoreRequest): Promise<RestoreResponse> {
    await this.checkSource(req.source);
    const key = req.passphrase !== undefined ? { passphrase: req.passphrase } : req.identity !== undefined ? { identity: req.identity } : null;
    const row = await this.repo.request({
      source: req.source,
      sections: req.sections ?? [],
      mode: req.mode,
      preview: req.preview,
      allowOtherPbx: req.allowOtherPbx,
      keySealed: key ? this.box.seal(JSON.stringify(key)) : null,
    });
    return toRestoreResponse(row);
  }

  async get(id: string): Promise<RestoreResponse> {
    const row = await this.repo.find(id);
    if (!row) throw notFound('restore');
    return toRestoreResponse(row);
  }

  async list(q: PaginationQuery): Promise<Page<RestoreResponse>> {
    const [rows, total] = await this.repo.list(offsetOf(q), q.limit);
    return pageOf(rows.map(toRestoreResponse), total, q);
  }

  private async checkSource(source: RestoreRequest['source']): Promise<void> {
    if ('uploadId' in source) {
      await this.uploads.finishedArchive(source.uploadId);
      return;
    }
    if ('runId' in source) {
      const run = await this.dataSource.manager.findOne(RunEntity, { where: { id: source.runId } });
      if (!run) throw notFound('run');
      if (!run.artifactFileName || !run.artifactSha256) throw new DomainError(ERROR_CODES.notReady, `run ${run.id} has no packed archive`);
      const there = await this.artifacts.stat(stagedArtifactOf(run.id, run.artifactFileName)).catch(() => null);
      if (run.artifactRemovedAt || !there) throw new DomainError(ERROR_CODES.gone, `the archive of run ${run.id} was cleaned up: restore from a destination's copy or upload it`);
      return;
    }
    const [dest] = await this.dataSource.query(
      `SELECT d.id FROM destinations d JOIN configurations c ON c.id = d.configuration_id
        WHERE d.id = $1 AND d.removed_at IS NULL AND c.deleted_at IS NULL AND c.kind = 'backup'`,
      [source.destinationId],
    );
    if (!dest) throw notFound('destination');
    if (!isArchiveName(source.file) || source.file.includes('/')) {
      throw new DomainError(ERROR_CODES.validation, 'Request validation failed', [{ field: 'source.file', message: 'must be the name of a .sar or .sar.age file in the destination\'s folder' }]);
    }
  }
}

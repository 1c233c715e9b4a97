import { Inject, Injectable } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppEnv } from '@pbx/config';
import { DomainError, type RestoreSection, type RestoreStatus } from '@pbx/contracts';
import { fetchedArchiveOf, isEncryptedArchiveName, stagedArtifactOf, uploadedArchiveOf } from '@pbx/destinations';
import { withPlainArchive, type DecryptionKey } from '@pbx/encryption';
import type { MaintenanceLock } from '@pbx/locking';
import type { Logger } from '@pbx/observability';
import { RestoresRepository, RunEntity, type RestoreEntity, type RestoreSectionState } from '@pbx/persistence';
import { RestoreEngine, RestoreFailedError, RestoreRefusedError, type RestorePhase, type RestoreProgress, type SectionProgress } from '@pbx/restore';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import type { SecretBox } from '@pbx/secrets';
import { DataSource } from 'typeorm';
import { MAINTENANCE_LOCK, RESTORE_ENGINE, SECRET_BOX } from './packer.tokens';

/** The API's status for each engine phase. */
const STATUS_OF: Record<RestorePhase, Exclude<RestoreStatus, 'queued' | 'succeeded' | 'failed' | 'rolled_back'>> = {
  waiting: 'waiting',
  verifying: 'verifying',
  previewing: 'verifying',
  'safety-backup': 'restoring',
  restoring: 'restoring',
  recovering: 'restoring',
  done: 'restoring',
  failed: 'restoring',
};

/** Bytes are written at most this often; phase and section changes at once. */
const PROGRESS_EVERY_MS = 500;

function sectionStates(sections: readonly SectionProgress[]): RestoreSectionState[] {
  return sections.map((s) => ({ name: s.section as RestoreSection, status: s.status, counts: { rowsInserted: s.rowsInserted, rowsDeleted: s.rowsDeleted, filesWritten: s.filesWritten } }));
}

/**
 * Runs a requested restore where the PBX is (the packer: PBX database, data folder, maintenance
 * lock). The archive's passphrase or identity is read from the restore's row, where the api
 * sealed it, and the row's copy is erased with the final state; it is never in a message.
 */
@Injectable()
export class RestoreRunner {
  private readonly repo: RestoresRepository;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RESTORE_ENGINE) private readonly engine: RestoreEngine,
    @Inject(MAINTENANCE_LOCK) private readonly lock: MaintenanceLock,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    repo: RestoresRepository,
  ) {
    this.repo = repo;
  }

  async run(restoreId: string): Promise<void> {
    const restore = await this.repo.claim(restoreId);
    // Running or final already: a redelivered request starts nothing twice.
    if (!restore) return;
    const log = this.logger.child({ restoreId });
    const report = this.progressWriter(restoreId);
    let fetchedCopy: string | null = null;
    try {
      const archive = await this.archiveOf(restore);
      if (archive.fetched) fetchedCopy = archive.path;
      const key = restore.keySealed ? (JSON.parse(this.secrets.open(restore.keySealed)) as DecryptionKey) : undefined;
      const options = {
        sections: restore.requestedSections.length ? restore.requestedSections : undefined,
        mode: restore.mode,
        allowOtherPbx: restore.allowOtherPbx,
        expectedSha256: archive.expectedSha256,
        onProgress: report,
      };
      await withPlainArchive(archive.path, key, this.env.ARTIFACT_DIR, async (plain) => {
        if (restore.preview) {
          const preview = await this.engine.preview(plain, options);
          await this.repo.finish(restoreId, { status: 'succeeded', sections: [], safetyBackup: null, previewResult: preview as unknown as Record<string, unknown> });
          return;
        }
        const result = await this.engine.restore(plain, { ...options, restoreId, lock: this.lock });
        const sections: RestoreSectionState[] = result.sections.map((s) => ({
          name: s.section as RestoreSection,
          status: 'restored',
          counts: { rowsInserted: s.tables.reduce((n, t) => n + t.rowsInserted, 0), rowsDeleted: s.tables.reduce((n, t) => n + t.rowsDeleted, 0), filesWritten: s.filesWritten },
        }));
        const safety = result.safetyBackup && { path: result.safetyBackup.path, size: result.safetyBackup.size, sha256: result.safetyBackup.sha256 };
        await this.repo.finish(restoreId, { status: 'succeeded', sections, safetyBackup: safety });
      });
      log.info({ preview: restore.preview }, 'restore finished');
    } catch (err) {
      const outcome = failureOf(err);
      log.error({ err, status: outcome.status }, 'restore did not succeed');
      await this.repo.finish(restoreId, outcome);
    } finally {
      // The fetched copy was only for this restore (an upload stays until it expires).
      if (fetchedCopy) await rm(fetchedCopy, { force: true });
    }
  }

  /** The archive file and the whole-file checksum known for it (a run's; an upload has none). */
  private async archiveOf(restore: RestoreEntity): Promise<{ path: string; expectedSha256?: string; fetched?: boolean }> {
    const source = restore.source;
    if ('uploadId' in source) return { path: join(this.env.ARTIFACT_DIR, uploadedArchiveOf(source.uploadId)) };
    if ('runId' in source) {
      const run = await this.dataSource.manager.findOne(RunEntity, { where: { id: source.runId } });
      if (!run?.artifactFileName) throw new RestoreRefusedError('invalidArchive', `run ${source.runId} has no archive`);
      // An encrypted archive's recorded sha256 is the .sar.age's; age checks its own integrity.
      const encrypted = isEncryptedArchiveName(run.artifactFileName);
      return { path: join(this.env.ARTIFACT_DIR, stagedArtifactOf(run.id, run.artifactFileName)), expectedSha256: encrypted ? undefined : (run.artifactSha256 ?? undefined) };
    }
    // Fetched by the dispatcher; the checksum it was compared with is the recorded one.
    const recorded = await this.repo.recordedSha256(source.destinationId, source.file);
    return { path: join(this.env.ARTIFACT_DIR, fetchedArchiveOf(restore.id)), expectedSha256: isEncryptedArchiveName(source.file) ? undefined : (recorded ?? undefined), fetched: true };
  }

  /** Phase and section changes are written at once, bytes at most every PROGRESS_EVERY_MS; one write at a time, the latest wins. */
  private progressWriter(restoreId: string): (p: RestoreProgress) => void {
    let lastAt = 0;
    let lastKey = '';
    let pending: RestoreProgress | null = null;
    let writing: Promise<void> | null = null;
    const flush = (): void => {
      if (writing || !pending) return;
      const p = pending;
      pending = null;
      writing = this.repo
        .progress(restoreId, { status: STATUS_OF[p.phase], phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, sections: sectionStates(p.sections) })
        .catch((err: unknown) => this.logger.warn({ restoreId, err }, 'restore progress not recorded'))
        .finally(() => {
          writing = null;
          flush();
        });
    };
    return (p) => {
      const key = `${p.phase}|${p.sections.map((s) => s.status).join(',')}`;
      const now = Date.now();
      if (key === lastKey && now - lastAt < PROGRESS_EVERY_MS) return;
      lastKey = key;
      lastAt = now;
      pending = p;
      flush();
    };
  }
}

function failureOf(err: unknown): { status: 'failed' | 'rolled_back'; sections: RestoreSectionState[] | null; error: string } {
  if (err instanceof RestoreRefusedError) return { status: 'failed', sections: null, error: err.badEntry ? `${err.message} (entry ${err.badEntry})` : err.message };
  if (err instanceof RestoreFailedError) {
    return { status: err.needsRecovery ? 'failed' : 'rolled_back', sections: sectionStates(err.sections), error: err.message };
  }
  if (err instanceof DomainError) return { status: 'failed', sections: null, error: err.message };
  return { status: 'failed', sections: null, error: err instanceof Error ? err.message : String(err) };
}

import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ARTIFACT_STORE, type ArtifactStore } from '@pbx/artifacts';
import type { AppEnv } from '@pbx/config';
import { DomainError, FINAL_RESTORE_STATUSES, restoreUnitsOf, type RestoreStatus, type RestoreUnit } from '@pbx/contracts';
import { artifactFileName, fetchedArchiveOf, isEncryptedArchiveName, stagedArtifactName, stagedArtifactOf, uploadedArchiveKeys } from '@pbx/destinations';
import { withPlainArchive, type DecryptionKey } from '@pbx/encryption';
import type { MaintenanceLock } from '@pbx/locking';
import type { Logger } from '@pbx/observability';
import { RestoresRepository, RunEntity, RunsRepository, safetyRunName, type RestoreEntity, type RestoreOutcome, type RestoreSectionState } from '@pbx/persistence';
import {
  RestoreEngine,
  RestoreFailedError,
  RestoreRefusedError,
  type RecoveryResult,
  type RestorePhase,
  type RestoreProgress,
  type SafetyBackup,
  type SectionProgress,
} from '@pbx/restore';
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
  return sections.map((s) => ({ name: s.section as RestoreUnit, status: s.status, counts: { rowsInserted: s.rowsInserted, rowsDeleted: s.rowsDeleted, filesWritten: s.filesWritten } }));
}

/**
 * Runs a requested restore where the PBX is (the packer: PBX database, data folder, maintenance
 * lock). The archive's passphrase or identity is read from the restore's row, where the api
 * sealed it, and the row's copy is erased with the final state; it is never in a message.
 */
@Injectable()
export class RestoreRunner implements OnApplicationBootstrap {
  private readonly repo: RestoresRepository;
  /** One run or recovery per restore at a time in this process (boot recovery and a redelivered request may meet). */
  private readonly busy = new Map<string, Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(RESTORE_ENGINE) private readonly engine: RestoreEngine,
    @Inject(MAINTENANCE_LOCK) private readonly lock: MaintenanceLock,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    repo: RestoresRepository,
    @Inject(ARTIFACT_STORE) private readonly artifacts: ArtifactStore,
    private readonly runs: RunsRepository,
  ) {
    this.repo = repo;
  }

  /**
   * At boot: restores whose journal says a section was left half-way (a restorer died, or its
   * outcome could not be recorded) are settled. One whose lock is held under its own name is
   * left alone: a live runner holds it the whole time a section changes, and a dead one's lease
   * runs out while its request comes back to a packer (below). In the background: boot does
   * not wait for the lock.
   */
  onApplicationBootstrap(): void {
    void this.recoverUnfinished().catch((err: unknown) => this.logger.error({ err }, 'restore recovery at boot failed'));
  }

  async run(restoreId: string): Promise<void> {
    await this.exclusive(restoreId, () => this.runOnce(restoreId));
  }

  private async recoverUnfinished(): Promise<void> {
    for (const restoreId of await this.engine.unfinished()) {
      if ((await this.lock.currentHolder()) === `restore:${restoreId}`) continue;
      await this.exclusive(restoreId, async () => {
        await this.recover(restoreId, await this.repo.find(restoreId));
      });
    }
  }

  private exclusive(restoreId: string, work: () => Promise<void>): Promise<void> {
    const next = (this.busy.get(restoreId) ?? Promise.resolve()).then(work, work);
    const tracked = next.catch(() => undefined).finally(() => {
      if (this.busy.get(restoreId) === tracked) this.busy.delete(restoreId);
    });
    this.busy.set(restoreId, tracked);
    return next;
  }

  private async runOnce(restoreId: string): Promise<void> {
    const restore = await this.repo.claim(restoreId);
    if (!restore) {
      // Final already: a redelivered request starts nothing twice. Started but not final: the
      // broker hands a request back only when the consumer that had it is gone, so the runner
      // died mid-restore; every section it touched is finished or rolled back, and the restore closed.
      const row = await this.repo.find(restoreId);
      if (row && !FINAL_RESTORE_STATUSES.includes(row.status)) await this.recover(restoreId, row);
      return;
    }
    const log = this.logger.child({ restoreId });
    const writeProgress = this.progressWriter(restoreId);
    let safetyStartedAt: Date | null = null;
    const report = (p: RestoreProgress): void => {
      if (p.phase === 'safety-backup') safetyStartedAt ??= new Date();
      writeProgress(p);
    };
    let kept: RestoreEntity['safetyBackup'] = null;
    let fetchedCopy: string | null = null;
    try {
      const archive = await this.archiveOf(restore);
      if (archive.fetched) fetchedCopy = archive.key;
      // Every source is in the artifact store (s3: fetched to this host for the restore).
      const withArchive = (fn: (path: string) => Promise<void>) =>
        this.artifacts.withLocalFile(archive.key, join(this.env.ARTIFACT_DIR, 'restores'), fn);
      const key = restore.keySealed ? (JSON.parse(this.secrets.open(restore.keySealed)) as DecryptionKey) : undefined;
      const options = {
        sections: restore.requestedSections.length ? restoreUnitsOf(restore.requestedSections) : undefined,
        mode: restore.mode,
        allowOtherPbx: restore.allowOtherPbx,
        expectedSha256: archive.expectedSha256,
        onProgress: report,
      };
      await withArchive((path) => withPlainArchive(path, key, this.env.ARTIFACT_DIR, async (plain) => {
        if (restore.preview) {
          const preview = await this.engine.preview(plain, options);
          await this.repo.finish(restoreId, { status: 'succeeded', sections: [], safetyBackup: null, previewResult: preview as unknown as Record<string, unknown> });
          return;
        }
        const result = await this.engine.restore(plain, {
          ...options,
          restoreId,
          lock: this.lock,
          onSafetyBackup: async (b) => {
            kept = await this.keepSafetyBackup(restoreId, b, safetyStartedAt ?? new Date());
          },
          checkpoint: this.env.RESTORE_TEST_PAUSE_AT ? (step, section) => this.pauseForTest(restoreId, `${section}:${step}`) : undefined,
        });
        const sections: RestoreSectionState[] = result.sections.map((s) => ({
          name: s.section as RestoreUnit,
          status: 'restored',
          counts: { rowsInserted: s.tables.reduce((n, t) => n + t.rowsInserted, 0), rowsDeleted: s.tables.reduce((n, t) => n + t.rowsDeleted, 0), filesWritten: s.filesWritten },
        }));
        if (result.safetyBackupError) log.error({ err: result.safetyBackupError }, 'restored, but the safety backup could not be kept yet; its data stays captured and the next start packs it');
        await this.repo.finish(restoreId, { status: 'succeeded', sections, safetyBackup: result.safetyBackup ? kept : null });
      }));
      log.info({ preview: restore.preview }, 'restore finished');
    } catch (err) {
      const outcome = failureOf(err);
      log.error({ err, status: outcome.status }, 'restore did not succeed');
      await this.repo.finish(restoreId, outcome);
    } finally {
      // The fetched copy was only for this restore (an upload stays until it expires).
      if (fetchedCopy) await this.artifacts.remove(fetchedCopy).catch((err: unknown) => log.warn({ err }, 'the fetched copy could not be removed'));
    }
  }

  /**
   * Settles a restore whose runner died: the engine finishes each section whose tables committed
   * and rolls back the one that had not (idempotent), then the row is closed saying per section
   * what happened, with the usual event (and so the mail). A row already final is only logged.
   */
  private async recover(restoreId: string, row: RestoreEntity | null): Promise<void> {
    const log = this.logger.child({ restoreId });
    if (row && !FINAL_RESTORE_STATUSES.includes(row.status)) {
      await this.repo.progress(restoreId, { status: 'restoring', phase: 'recovering', bytesDone: row.bytesDone, bytesTotal: row.bytesTotal, sections: row.sections });
    }
    let kept: RestoreEntity['safetyBackup'] = null;
    const result = await this.engine.recover(restoreId, {
      lock: this.lock,
      onSafetyBackup: async (b) => {
        kept = await this.keepSafetyBackup(restoreId, b, row?.startedAt ?? new Date());
      },
    });
    log.warn({ sections: result.sections, safetyBackup: kept !== null }, 'restore interrupted earlier: recovered');
    if (!row || FINAL_RESTORE_STATUSES.includes(row.status)) return;
    await this.repo.finish(restoreId, recoveryOutcome({ ...row, safetyBackup: kept ?? row.safetyBackup }, result));
    if ('destinationId' in row.source) await this.artifacts.remove(fetchedArchiveOf(restoreId));
  }

  /**
   * The safety backup becomes a run of kind `safety` once packed: its file goes into the
   * artifact store under the run's key (downloadable and restorable like any run's; restoring
   * it undoes this restore), then the run and the restore's link to it are written in one
   * transaction. Until this has succeeded the engine keeps the captured data (the way back
   * exists from before the first change), and the next start packs and keeps it again.
   */
  private async keepSafetyBackup(restoreId: string, backup: SafetyBackup, startedAt: Date): Promise<NonNullable<RestoreEntity['safetyBackup']>> {
    const runId = randomUUID();
    const key = stagedArtifactName(runId, false);
    const fileName = artifactFileName(safetyRunName(restoreId), startedAt, runId);
    await this.artifacts.put(key, backup.path);
    const recorded = { path: key, size: backup.size, sha256: backup.sha256 };
    try {
      const run = await this.dataSource.transaction(async (tx) => {
        const made = await this.runs.createSafetyRun(tx, {
          id: runId,
          restoreId,
          sections: { coreData: backup.sections.includes('coreData'), cdrAndVoicemails: backup.sections.includes('cdrAndVoicemails'), announcements: backup.sections.includes('announcements') },
          artifact: { fileName, size: backup.size, sha256: backup.sha256 },
          startedAt,
        });
        await this.repo.recordSafetyBackup(tx, restoreId, made.id === runId ? recorded : { ...recorded, path: stagedArtifactOf(made.id, made.artifactFileName) }, made.id);
        return made;
      });
      // Only when this restore had recorded one already (a second attempt): that one stays.
      if (run.id !== runId) await this.artifacts.remove(key);
      this.logger.info({ restoreId, runId: run.id, size: backup.size }, 'safety backup kept as a run of kind safety');
      return run.id === runId ? recorded : { ...recorded, path: stagedArtifactOf(run.id, run.artifactFileName) };
    } catch (err) {
      await this.artifacts.remove(key).catch(() => undefined);
      throw err;
    }
  }

  /** RESTORE_TEST_PAUSE_AT (tests only): stop here until the process is killed. */
  private async pauseForTest(restoreId: string, at: string): Promise<void> {
    if (at !== this.env.RESTORE_TEST_PAUSE_AT) return;
    this.logger.warn({ restoreId, at }, 'restore paused for a test (RESTORE_TEST_PAUSE_AT) until the process is killed');
    await new Promise<never>(() => undefined);
  }

  /** The archive's key in the artifact store and the whole-file checksum known for it (a run's; an upload has none). */
  private async archiveOf(restore: RestoreEntity): Promise<{ key: string; expectedSha256?: string; fetched?: boolean }> {
    const source = restore.source;
    // The api put the finished upload into the artifact store (uploads/<id>.sar or .sar.age).
    if ('uploadId' in source) {
      for (const key of uploadedArchiveKeys(source.uploadId)) if (await this.artifacts.stat(key)) return { key };
      throw new RestoreRefusedError('invalidArchive', `upload ${source.uploadId} is not in the artifact store (expired and removed?)`);
    }
    if ('runId' in source) {
      const run = await this.dataSource.manager.findOne(RunEntity, { where: { id: source.runId } });
      if (!run?.artifactFileName) throw new RestoreRefusedError('invalidArchive', `run ${source.runId} has no archive`);
      // An encrypted archive's recorded sha256 is the .sar.age's; age checks its own integrity.
      const encrypted = isEncryptedArchiveName(run.artifactFileName);
      return { key: stagedArtifactOf(run.id, run.artifactFileName), expectedSha256: encrypted ? undefined : (run.artifactSha256 ?? undefined) };
    }
    // Fetched by the dispatcher; the checksum it was compared with is the recorded one.
    const recorded = await this.repo.recordedSha256(source.destinationId, source.file);
    return { key: fetchedArchiveOf(restore.id), expectedSha256: isEncryptedArchiveName(source.file) ? undefined : (recorded ?? undefined), fetched: true };
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

/**
 * The final state after a recovery. Per section: restored before the crash, `completed` by
 * recovery, `rolled-back`, or `not-started`. Every section restored → succeeded; one rolled
 * back → rolled_back; else (some never started) → failed. The error says which, per section.
 */
export function recoveryOutcome(row: Pick<RestoreEntity, 'sections' | 'safetyBackup'>, result: RecoveryResult): RestoreOutcome {
  const journal = new Map(result.sections.map((s) => [s.section as string, s.outcome]));
  const names = [...new Set([...row.sections.map((s) => s.name as string), ...journal.keys()])];
  const zero = { rowsInserted: 0, rowsDeleted: 0, filesWritten: 0 };
  const sections: RestoreSectionState[] = names.map((name) => {
    const before = row.sections.find((s) => s.name === name);
    const base = { name: name as RestoreUnit, counts: before?.counts ?? zero };
    switch (journal.get(name)) {
      case 'already-done':
        return { ...base, status: 'restored' };
      case 'finished':
        return { ...base, status: 'restored', recovery: 'completed' };
      case 'rolled-back':
      case 'already-rolled-back':
        return { ...base, status: 'rolled-back', recovery: 'rolled-back', counts: zero };
      default:
        return { ...base, status: 'pending', recovery: 'not-started', counts: zero };
    }
  });
  const said = sections.map((s) => `${s.name} ${s.recovery === 'completed' ? 'completed by recovery' : s.recovery === 'not-started' ? 'not started' : s.status}`).join(', ');
  if (sections.length > 0 && sections.every((s) => s.status === 'restored')) return { status: 'succeeded', sections, safetyBackup: row.safetyBackup };
  const status = sections.some((s) => s.status === 'rolled-back') ? 'rolled_back' : 'failed';
  const error = sections.length
    ? `the restorer stopped mid-restore; on restart: ${said}`
    : 'the restorer stopped before it changed the PBX (nothing changed); start the restore again';
  return { status, sections, error };
}

import { Inject, Injectable } from '@nestjs/common';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppEnv } from '@pbx/config';
import { artifactFileName } from '@pbx/destinations';
import { MaintenanceLock, type MaintenanceLease } from '@pbx/locking';
import type { Logger } from '@pbx/observability';
import { FINAL_RUN_STATUSES, type ArchiveItems, type CancelWatch } from '@pbx/persistence';
import type { ArchiveCriteria, PbxSource } from '@pbx/pbx-source';
import { writeSar } from '@pbx/sar';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { describePackingError, packingProgress } from './packer.service';
import { isStaleDue, MaintenanceGate } from './maintenance-gate.service';
import { MAINTENANCE_LOCK, PBX_SOURCE } from './packer.tokens';
import { RunStateRepository } from './run-state.repository';
import { ArtifactEncryption } from './artifact-encryption.service';

const DAY_MS = 24 * 60 * 60 * 1000;
const DELETE_BATCH = 5000;

/** Items older than days-to-keep, as of `now` (0 days = everything up to now). */
export function archiveCriteria(items: ArchiveItems, now: Date): ArchiveCriteria {
  const criteria: ArchiveCriteria = {};
  if (items.cdr?.enabled) criteria.cdrOlderThan = new Date(now.getTime() - items.cdr.daysToKeep * DAY_MS);
  if (items.voicemails?.enabled) criteria.voicemailsOlderThan = new Date(now.getTime() - items.voicemails.daysToKeep * DAY_MS);
  return criteria;
}

/**
 * PBX archiving: copies old CDRs and voicemails into a `.sar`, has the dispatcher deliver
 * it, and deletes exactly those items once every destination confirmed the file. The
 * maintenance lock is held from selection to deletion, so no backup reads while items
 * are being removed (and no archiving starts while a backup packs).
 */
@Injectable()
export class ArchiverService {
  /** Leases this process holds across the delivery wait, by run id. */
  private readonly leases = new Map<string, MaintenanceLease>();
  /** Stops the cancel watch of a held lease, by run id (finalize took over). */
  private readonly heldWatches = new Map<string, () => void>();

  constructor(
    private readonly runs: RunStateRepository,
    @Inject(PBX_SOURCE) private readonly source: PbxSource,
    @Inject(MAINTENANCE_LOCK) private readonly lock: MaintenanceLock,
    private readonly gate: MaintenanceGate,
    private readonly artifacts: ArtifactEncryption,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async packArchive(runId: string): Promise<void> {
    const run = await this.runs.findRun(runId);
    if (!run) return;
    if (isStaleDue(run)) return this.gate.releaseLeftBehind(run);
    const lease = await this.gate.enter(run, (delayMs, heldBy) => this.runs.defer(run, delayMs, heldBy));
    if (!lease) return;
    if (!(await this.runs.markPacking(run.id))) {
      await lease.release();
      return;
    }
    const dir = this.env.ARTIFACT_DIR;
    const partial = join(dir, `${run.id}.sar.partial`);
    // A cancel stops the writer at its next chunk; after packing it lets the held lock go (watchHeld).
    const cancel = this.runs.watchForCancel(run.id);
    const signal = AbortSignal.any([lease.signal, cancel.signal]);
    try {
      await mkdir(dir, { recursive: true });
      await rm(partial, { force: true });
      const before = await this.source.stats();
      // Fixed now: items that age past the limit later are the next run's business.
      const selection = await this.source.selectArchiveItems(run.id, archiveCriteria(run.snapshot.data as ArchiveItems, new Date()));
      const result = await writeSar({
        source: this.source,
        sections: { coreData: false, cdrAndVoicemails: true, announcements: false },
        outPath: partial,
        configurationName: run.snapshot.name,
        pbxId: this.env.PBX_ID,
        audioLevel: this.env.SAR_AUDIO_DEFLATE_LEVEL,
        kind: 'archive',
        archiveSelection: selection,
        signal,
        onProgress: packingProgress(this.runs, run.id),
        sink: await this.artifacts.sinkFor(run, partial),
      });
      const artifact = await this.artifacts.stage(run, partial, result, signal);
      const counts = {
        ...result.counts,
        archivedCdr: selection.cdrCount,
        archivedVoicemails: selection.voicemailCount,
        pbxBytesBefore: before.databaseBytes + before.dataDirBytes,
      };
      const fileName = artifactFileName(run.snapshot.name, run.scheduledFor ?? run.createdAt, run.id, artifact.encrypted);
      if (!(await this.runs.markPacked(run, { fileName, size: artifact.size, sha256: artifact.sha256 }, counts, result.entries))) {
        cancel.stop();
        await lease.release();
        if (await this.runs.isCancelled(run.id)) {
          await this.artifacts.discard(run.id, artifact.encrypted);
          await this.dropSelection(run.id);
          this.logger.info('archiving cancelled; the packed archive was removed, nothing is deleted from the PBX');
        }
        return;
      }
      // The lease stays held (and extended) until finalize() has deleted the items, or the run is cancelled.
      this.leases.set(run.id, lease);
      this.watchHeld(run.id, lease, cancel);
    } catch (err) {
      cancel.stop();
      await rm(partial, { force: true });
      await lease.release();
      if (cancel.cancelled || (await this.runs.isCancelled(run.id).catch(() => false))) {
        await this.dropSelection(run.id);
        this.logger.info('archiving cancelled while packing; the partial archive was removed');
        return;
      }
      if (lease.signal.aborted) throw err;
      await this.runs.markFailed(run, describePackingError(err));
      await this.dropSelection(run.id);
    }
  }

  /**
   * While the deliveries of a packed archive run go on, the lock stays held; a cancel ends
   * the run before any deletion (RunLifecycle refuses it once every delivery answered), so
   * the lock and the selection are let go as soon as it is seen.
   */
  private watchHeld(runId: string, lease: MaintenanceLease, cancel: CancelWatch): void {
    const done = () => cancel.stop();
    this.heldWatches.set(runId, done);
    cancel.signal.addEventListener('abort', () => {
      done();
      this.heldWatches.delete(runId);
      if (this.leases.get(runId) !== lease) return;
      this.leases.delete(runId);
      void (async () => {
        await lease.release();
        await this.dropSelection(runId);
        this.logger.info({ correlationId: runId }, 'archiving cancelled while delivering; the maintenance lock was let go, nothing is deleted from the PBX');
      })().catch((err: unknown) => this.logger.warn({ correlationId: runId, err: err instanceof Error ? err.message : err }, 'could not let a cancelled archive run\'s lock go; it expires after its ttl'));
    });
  }

  /** After every delivery answered: delete the archived items, or nothing when any failed. */
  async finalize(runId: string, allSucceeded: boolean): Promise<void> {
    const run = await this.runs.findRun(runId);
    if (!run) return;
    this.heldWatches.get(runId)?.();
    this.heldWatches.delete(runId);
    if (FINAL_RUN_STATUSES.includes(run.status)) return this.gate.releaseLeftBehind(run);
    if (!allSucceeded) {
      await this.runs.finishArchive(run, { deleted: null, error: 'not every destination confirmed the archive; nothing was deleted from the PBX' });
      await this.dropSelection(runId);
      await this.releaseLease(runId);
      return;
    }
    let lease = this.leases.get(runId);
    if (!lease || lease.lost) {
      // Deletion waits for the lock like packing does; the finalize event comes back later.
      lease = (await this.gate.enter(run, (delayMs, heldBy) => this.runs.deferArchiveFinalize(run, delayMs, heldBy))) ?? undefined;
      if (!lease) return;
    }
    try {
      const thisPass = await this.source.deleteArchived(runId, { batchSize: DELETE_BATCH, signal: lease.signal });
      // A resumed deletion only counts its own batches; once complete, the whole selection is gone.
      const selection = await this.source.getArchiveSelection(runId);
      const deleted = {
        cdrDeleted: selection?.cdrCount ?? thisPass.cdrDeleted,
        voicemailsDeleted: selection?.voicemailCount ?? thisPass.voicemailsDeleted,
        filesDeleted: thisPass.filesDeleted,
      };
      const after = await this.source.stats();
      await this.runs.finishArchive(run, { deleted: { ...deleted, pbxBytesAfter: after.databaseBytes + after.dataDirBytes }, error: null });
      this.logger.info({ ...deleted }, 'archived items deleted from the PBX');
      await this.dropSelection(runId);
    } finally {
      this.leases.delete(runId);
      await lease.release();
    }
  }

  /**
   * The run is final: its list of selected items in the PBX schema has served (the run keeps
   * the counts). A failure only leaves the list behind; it never touches PBX data.
   */
  private async dropSelection(runId: string): Promise<void> {
    await this.source.dropArchiveSelection(runId).catch((err: unknown) =>
      this.logger.warn({ err: err instanceof Error ? err.message : err }, 'could not drop the archive selection; it is left in the PBX schema'),
    );
  }

  private async releaseLease(runId: string): Promise<void> {
    const lease = this.leases.get(runId);
    this.leases.delete(runId);
    if (lease) await lease.release();
    else {
      // Held by a previous process under this run's name: take it over to let it go.
      const res = await this.lock.acquireLease(`archive:${runId}`, { resume: true, autoExtend: false }).catch(() => null);
      if (res?.acquired) await res.lease.release();
    }
  }
}

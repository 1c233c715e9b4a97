import { Inject, Injectable } from '@nestjs/common';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppEnv } from '@pbx/config';
import { artifactFileName } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { ProgressThrottle, type BackupSections, type ConfigurationRun } from '@pbx/persistence';
import type { PbxSource } from '@pbx/pbx-source';
import { writeSar, type SarProgress } from '@pbx/sar';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { RunStateRepository } from './run-state.repository';
import { ArtifactEncryption } from './artifact-encryption.service';
import { isStaleDue, MaintenanceGate } from './maintenance-gate.service';
import { PBX_SOURCE } from './packer.tokens';

export type PackOutcome = 'packed' | 'deferred' | 'skipped' | 'failed' | 'cancelled';

/**
 * Turns a due backup run into a verified `.sar` in ARTIFACT_DIR, only while holding the
 * PBX maintenance lock. The lock is held by someone else: the run waits (MaintenanceGate:
 * an hour behind archiving, until the lock frees behind another backup).
 */
@Injectable()
export class PackerService {
  constructor(
    private readonly runs: RunStateRepository,
    @Inject(PBX_SOURCE) private readonly source: PbxSource,
    private readonly gate: MaintenanceGate,
    private readonly artifacts: ArtifactEncryption,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async packBackup(runId: string): Promise<PackOutcome> {
    const run = await this.runs.findRun(runId);
    if (!run) {
      this.logger.warn({ runId }, 'backup.due for an unknown run; ignoring it');
      return 'skipped';
    }
    if (isStaleDue(run)) {
      await this.gate.releaseLeftBehind(run);
      return 'skipped';
    }
    const lease = await this.gate.enter(run, (delayMs, heldBy) => this.runs.defer(run, delayMs, heldBy));
    if (!lease) return 'deferred';
    try {
      return await this.pack(run, lease.signal);
    } finally {
      await lease.release();
    }
  }

  private async pack(run: ConfigurationRun, lockSignal: AbortSignal): Promise<PackOutcome> {
    if (!(await this.runs.markPacking(run.id))) return 'skipped';
    const dir = this.env.ARTIFACT_DIR;
    const partial = join(dir, `${run.id}.sar.partial`);
    await mkdir(dir, { recursive: true });
    await rm(partial, { force: true }); // left by a packer that died mid-pack
    const started = Date.now();
    // A cancel (POST /runs/:id/cancel) stops the writer at its next chunk, like a lost lock.
    const cancel = this.runs.watchForCancel(run.id);
    const signal = AbortSignal.any([lockSignal, cancel.signal]);
    try {
      const result = await writeSar({
        source: this.source,
        sections: run.snapshot.data as BackupSections,
        outPath: partial,
        configurationName: run.snapshot.name,
        pbxId: this.env.PBX_ID,
        audioLevel: this.env.SAR_AUDIO_DEFLATE_LEVEL,
        kind: 'backup',
        signal,
        onProgress: packingProgress(this.runs, run.id),
        sink: await this.artifacts.sinkFor(run, partial),
      });
      const artifact = await this.artifacts.stage(run, partial, result, signal);
      const fileName = artifactFileName(run.snapshot.name, run.scheduledFor ?? run.createdAt, run.id, artifact.encrypted);
      if (!(await this.runs.markPacked(run, { fileName, size: artifact.size, sha256: artifact.sha256 }, result.counts, result.entries))) {
        // Cancelled between the last chunk and now: the archive is nobody's. (Another packer's
        // finished run keeps its file: the name is the run's, so it is the same file.)
        if (!(await this.runs.isCancelled(run.id))) return 'skipped';
        await this.artifacts.discard(run.id, artifact.encrypted);
        this.logger.info('packing cancelled; the packed archive was removed');
        return 'cancelled';
      }
      const seconds = (Date.now() - started) / 1000;
      this.logger.info({ size: artifact.size, encrypted: artifact.encrypted, entries: result.entries, seconds, mibPerS: +(result.size / 1048576 / Math.max(seconds, 0.001)).toFixed(1) }, 'packed');
      return 'packed';
    } catch (err) {
      await rm(partial, { force: true });
      if (cancel.cancelled || (await this.runs.isCancelled(run.id).catch(() => false))) {
        this.logger.info('packing cancelled; the partial archive was removed');
        return 'cancelled';
      }
      if (lockSignal.aborted) throw err; // lost the lock mid-pack: let the message retry, do not fail the run
      const reason = describePackingError(err);
      this.logger.error({ err, reason }, 'packing failed');
      await this.runs.markFailed(run, reason);
      return 'failed';
    } finally {
      cancel.stop();
    }
  }
}

/**
 * writeSar's progress, recorded on the run throttled (the api's live run events show it). The
 * archive's final size is unknown while packing, so only the time limit applies.
 */
export function packingProgress(runs: RunStateRepository, runId: string): (p: SarProgress) => void {
  let entriesDone = 0;
  const throttle = new ProgressThrottle((bytes) => runs.saveProgress(runId, { bytes, entriesDone, entriesTotal: null, updatedAt: new Date().toISOString() }), null);
  return (p) => {
    entriesDone = p.entriesDone;
    throttle.report(p.bytesWritten);
  };
}

/** Turns low-level errors into a reason an admin can act on. */
export function describePackingError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { code?: string };
  const msg = err instanceof Error ? err.message : String(err);
  switch (e?.code) {
    case 'ENOSPC':
      return `packing failed: the artifact disk is full (${msg})`;
    case 'EACCES':
    case 'EPERM':
      return `packing failed: a PBX file or the artifact directory is not readable/writable (${msg})`;
    case 'ENOENT':
      return `packing failed: a PBX file disappeared while packing (${msg})`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
    case '57P01':
    case '3D000':
      return `packing failed: the PBX database is unreachable (${msg})`;
    default:
      return `packing failed: ${msg}`;
  }
}

import { sha256File } from '@pbx/destinations';
import { assertRestoreId, type PbxRestoreTarget, type PbxSection, type PbxSource, type RestoreJournalEntry, type TableLoad } from '@pbx/pbx-source';
import { openSarArchive, SAR_CONTAINER, verifySar, type SarArchive, type SarManifest } from '@pbx/sar';
import { checkedEntry } from './checked-entry';
import { enterMaintenance } from './maintenance-wait';
import { planRestore, type PlannedSection, type RestorePlan } from './restore-plan';
import { RestoreProgressTracker } from './restore-progress';
import { SafetyBackupWriter } from './safety-backup.writer';
import {
  RestoreFailedError,
  RestoreRefusedError,
  type AudioDiff,
  type PlanOptions,
  type PreviewOptions,
  type RecoverOptions,
  type RecoveryOutcome,
  type RecoveryResult,
  type RestoreOptions,
  type RestorePreview,
  type RestoreResult,
  type SafetyBackup,
  type SectionPreview,
  type SectionResult,
} from './restore.types';

export interface RestoreEngineOptions {
  /** Where the restore writes (tables, audio, journal). */
  target: PbxRestoreTarget;
  /** The same PBX read as a backup reads it (the safety backup). */
  source: PbxSource;
  /** This PBX's id (PBX_ID): archives of another are refused unless allowed. */
  pbxId: string;
  /** Where the safety backup is written (ARTIFACT_DIR). */
  artifactDir: string;
  /** How often a restore waiting for the maintenance lock asks again (MAINTENANCE_RECHECK_MS; default 15 s). */
  lockRetryMs?: number;
}

/**
 * Restores sections of a `.sar` into the PBX: checked before anything is touched, under the
 * maintenance lock, after a safety backup, each section all-or-nothing and recoverable
 * after a crash (see docs/restore.md for the protocol).
 */
export class RestoreEngine {
  private readonly safety: SafetyBackupWriter;

  constructor(private readonly options: RestoreEngineOptions) {
    this.safety = new SafetyBackupWriter(options.source, options.target, options.artifactDir, options.pbxId);
  }

  /** What a restore with these options would change. Changes nothing and takes no lock. */
  async preview(archivePath: string, options: PreviewOptions): Promise<RestorePreview> {
    const progress = new RestoreProgressTracker(null, options.onProgress);
    const plan = planRestore(await this.verify(archivePath, options, progress), options, this.options.pbxId);
    progress.enter('previewing', plan.bytes);
    const archive = await openSarArchive(archivePath);
    try {
      const sections: SectionPreview[] = [];
      for (const s of plan.sections) {
        const tables = await this.options.target.diffTables(this.tableLoads(archive, s, (n) => progress.add(n)), s.mode, options.signal);
        sections.push({ section: s.section, mode: s.mode, tables, audio: s.audio ? await this.diffAudio(s) : null });
      }
      progress.enter('done');
      return { archive: plan.archive, sections };
    } finally {
      archive.close();
    }
  }

  async restore(archivePath: string, options: RestoreOptions): Promise<RestoreResult> {
    const { restoreId, signal } = options;
    assertRestoreId(restoreId);
    const progress = new RestoreProgressTracker(restoreId, options.onProgress);
    const lease = await enterMaintenance(options.lock, `restore:${restoreId}`, {
      retryMs: this.options.lockRetryMs ?? 15_000,
      signal,
      onWaiting: (heldBy) => progress.waiting(heldBy),
    });
    // Losing the lock stops the restore before its next commit (never after: a committed
    // section is always finished).
    const work = signal ? AbortSignal.any([signal, lease.signal]) : lease.signal;
    try {
      await this.refuseRerun(restoreId);
      const { plan, replaced } = await this.verifyAndCapture(archivePath, restoreId, options, progress, work);
      for (const s of plan.sections) progress.addSection(s.section, s.mode);
      // The safety archive is packed after the sections: beside them it took the same thread and
      // delayed the PBX by as much as it saved (bench/restore/README.md).
      const pack = () => this.safety.pack(restoreId, (bytes) => progress.set(bytes), work);
      progress.enter('restoring', plan.bytes);
      const archive = await openSarArchive(archivePath);
      const sections: SectionResult[] = [];
      try {
        for (const s of plan.sections) sections.push(await this.restoreSection(archive, restoreId, s, progress, options, work));
      } catch (err) {
        // Sections restored before the failure keep their way back; if nothing changed the
        // capture goes; an outcome left to recovery leaves the capture to it.
        if (replaced.length && !(err instanceof RestoreFailedError && err.needsRecovery)) {
          if (sections.length) await this.keepSafetyBackup(restoreId, pack, progress, options.onSafetyBackup);
          else await this.safety.drop(restoreId);
        }
        throw err;
      } finally {
        archive.close();
      }
      const safetyBackup = replaced.length ? await this.keepSafetyBackup(restoreId, pack, progress, options.onSafetyBackup) : { backup: null, error: null };
      progress.enter('done');
      return { restoreId, archive: plan.archive, safetyBackup: safetyBackup.backup, safetyBackupError: safetyBackup.error, sections };
    } catch (err) {
      progress.enter('failed');
      throw err;
    } finally {
      await lease.release();
    }
  }

  /**
   * After a crash: every section of the restore ends either as before or fully restored.
   * Tables committed (journal `committed`) → the audio swap is finished; not committed →
   * the staged audio is removed. Idempotent.
   */
  async recover(restoreId: string, options: RecoverOptions): Promise<RecoveryResult> {
    assertRestoreId(restoreId);
    const progress = new RestoreProgressTracker(restoreId, options.onProgress);
    const lease = await enterMaintenance(options.lock, `restore:${restoreId}`, {
      retryMs: this.options.lockRetryMs ?? 15_000,
      signal: options.signal,
      onWaiting: (heldBy) => progress.waiting(heldBy),
    });
    try {
      progress.enter('recovering');
      const target = this.options.target;
      const sections: RecoveryResult['sections'] = [];
      const captured = await this.safety.hasCapture(restoreId);
      for (const entry of await target.readJournal(restoreId, { waitForWriters: true })) {
        sections.push({ section: entry.section, mode: entry.mode, outcome: await this.settle(entry) });
      }
      await this.safety.discardPartial(restoreId);
      // The way back of what changed is packed now; a capture of a restore that changed nothing goes.
      const changed = sections.some((s) => s.mode === 'replace' && (s.outcome === 'finished' || s.outcome === 'already-done'));
      let safetyBackup: SafetyBackup | null = null;
      if (captured && changed) {
        const packed = await this.keepSafetyBackup(restoreId, () => this.safety.pack(restoreId, (bytes) => progress.set(bytes), options.signal), progress, options.onSafetyBackup);
        if (packed.error !== null) throw new Error(`restore ${restoreId}: the safety backup could not be packed: ${packed.error}`);
        safetyBackup = packed.backup;
      } else if (captured) await this.safety.drop(restoreId);
      else await this.safety.release(restoreId); // a capture cut short: nothing had changed yet
      progress.enter('done');
      return { restoreId, sections, safetyBackup };
    } finally {
      await lease.release();
    }
  }

  /** Restores that a crash left unfinished, or whose safety backup is not packed yet (recover each at boot). */
  async unfinished(): Promise<string[]> {
    const ids = new Set([...(await this.options.target.unfinishedRestores()), ...(await this.safety.pendingCaptures())]);
    return [...ids].sort();
  }

  // ---- steps ----

  /** Format, every entry against the manifest, the whole file against its recorded SHA-256. */
  private async verify(archivePath: string, options: PlanOptions, progress: RestoreProgressTracker): Promise<SarManifest> {
    progress.enter('verifying');
    if (options.expectedSha256) {
      const actual = await sha256File(archivePath, options.signal);
      if (actual !== options.expectedSha256.toLowerCase()) {
        throw new RestoreRefusedError('invalidArchive', `the file's sha256 ${actual} is not the recorded ${options.expectedSha256}`, SAR_CONTAINER);
      }
    }
    const result = await verifySar(archivePath, { onProgress: (bytes) => progress.set(bytes), signal: options.signal });
    if (!result.ok) throw new RestoreRefusedError('invalidArchive', `damaged archive: ${result.badEntry}: ${result.reason}`, result.badEntry);
    return result.manifest;
  }

  private async refuseRerun(restoreId: string): Promise<void> {
    const journal = await this.options.target.readJournal(restoreId);
    if (journal.some((j) => j.state === 'staging' || j.state === 'committed')) {
      throw new RestoreRefusedError('needsRecovery', `restore ${restoreId} was interrupted; recover it first`);
    }
    if (journal.length > 0) throw new RestoreRefusedError('alreadyRan', `restore ${restoreId} already ran; use a new restore id`);
  }

  /**
   * The archive is checked while the replaced sections are captured (the safety backup's first
   * step: it only reads the PBX, so it may run before the check has passed; it is dropped if
   * the check fails). The sections come from the manifest as the file states it, and are
   * compared once it is verified.
   */
  private async verifyAndCapture(
    archivePath: string,
    restoreId: string,
    options: RestoreOptions,
    progress: RestoreProgressTracker,
    signal: AbortSignal,
  ): Promise<{ plan: RestorePlan; replaced: PbxSection[] }> {
    const early = await this.peekReplaced(archivePath, options);
    const capturing = early.length ? this.safety.capture(restoreId, early, signal) : Promise.resolve();
    capturing.catch(() => undefined); // awaited below
    try {
      const plan = planRestore(await this.verify(archivePath, options, progress), options, this.options.pbxId);
      const replaced = replacedOf(plan);
      if (replaced.join() === early.join()) await capturing;
      else {
        await capturing.catch(() => undefined);
        await this.safety.release(restoreId);
        if (replaced.length) await this.safety.capture(restoreId, replaced, signal);
      }
      return { plan, replaced };
    } catch (err) {
      await capturing.catch(() => undefined);
      await this.safety.release(restoreId);
      throw err;
    }
  }

  /** The sections a restore would replace, by the manifest as it stands (unverified); none when it cannot be read. */
  private async peekReplaced(archivePath: string, options: RestoreOptions): Promise<PbxSection[]> {
    try {
      const archive = await openSarArchive(archivePath);
      try {
        return replacedOf(planRestore(archive.manifest, options, this.options.pbxId));
      } finally {
        archive.close();
      }
    } catch {
      return []; // the check says what is wrong with it
    }
  }

  /**
   * The safety backup's second step, once the sections are done: the archive is packed from the
   * capture, handed to `onSafetyBackup` (the caller keeps it), then the capture is released. A
   * failure keeps the capture (recovery at the next start packs it again) and is returned, not
   * thrown: the sections are restored either way.
   */
  private async keepSafetyBackup(
    restoreId: string,
    pack: () => Promise<SafetyBackup>,
    progress: RestoreProgressTracker,
    onSafetyBackup: ((backup: SafetyBackup) => Promise<void>) | undefined,
  ): Promise<{ backup: SafetyBackup | null; error: string | null }> {
    progress.enter('safety-backup');
    try {
      const backup = await pack();
      await onSafetyBackup?.(backup);
      await this.safety.release(restoreId);
      return { backup, error: null };
    } catch (err) {
      await this.safety.discardPartial(restoreId).catch(() => undefined);
      return { backup: null, error: message(err) };
    }
  }

  private async restoreSection(
    archive: SarArchive,
    restoreId: string,
    s: PlannedSection,
    progress: RestoreProgressTracker,
    options: RestoreOptions,
    signal: AbortSignal,
  ): Promise<SectionResult> {
    const target = this.options.target;
    const checkpoint = async (step: Parameters<NonNullable<RestoreOptions['checkpoint']>>[0]) => options.checkpoint?.(step, s.section);
    signal.throwIfAborted();
    await target.openJournal(restoreId, s.section, s.mode, s.audio?.folder ?? null);
    await checkpoint('journal-opened');
    let tables;
    // The audio is staged while the tables load (this process and the disk on one side, the
    // Postgres backend on the other: a CDR table and its voicemails take the longer of the two,
    // not the sum); the commit waits for the staged files to be durable.
    const stopStaging = new AbortController();
    let staged: Promise<void> | null = null;
    try {
      progress.section(s.section, { status: s.audio ? 'staging-audio' : 'loading-tables' });
      if (s.audio) {
        staged = this.stageAudio(archive, restoreId, s, progress, AbortSignal.any([signal, stopStaging.signal])).then(async () => {
          await checkpoint('audio-staged');
          progress.section(s.section, { status: 'loading-tables' });
        });
        staged.catch(() => undefined); // awaited before the commit, or below
      }
      tables = await target.commitSection(restoreId, s.section, this.tableLoads(archive, s, (n) => progress.add(n)), s.mode, {
        nextState: s.audio ? 'committed' : 'done',
        beforeCommit: async () => {
          await staged;
          await checkpoint('tables-loaded');
        },
        signal,
      });
    } catch (err) {
      stopStaging.abort();
      await staged?.catch(() => undefined);
      await this.undoUncommitted(restoreId, s, progress, err);
      tables = null; // the commit landed after all (its answer was lost): finish below
    }
    await checkpoint('tables-committed');
    let filesWritten = 0;
    if (s.audio) {
      progress.section(s.section, { status: 'swapping-audio' });
      filesWritten = await target.publishStagedAudio(restoreId, s.audio.folder, s.mode, { midway: () => checkpoint('audio-half-swapped') });
      await checkpoint('audio-swapped');
      await target.markJournal(restoreId, s.section, 'committed', 'done');
    }
    const result = { section: s.section, mode: s.mode, tables: tables ?? [], filesWritten };
    progress.section(s.section, {
      status: 'restored',
      rowsInserted: result.tables.reduce((n, t) => n + t.rowsInserted, 0),
      rowsDeleted: result.tables.reduce((n, t) => n + t.rowsDeleted, 0),
      filesWritten,
    });
    return result;
  }

  /** replace: every audio file of the archive; merge: those whose name is free in the live folder. */
  private async stageAudio(archive: SarArchive, restoreId: string, s: PlannedSection, progress: RestoreProgressTracker, signal: AbortSignal): Promise<void> {
    if (!s.audio) return;
    const target = this.options.target;
    await target.prepareStagedAudio(restoreId, s.audio.folder);
    let staged = 0;
    for (const entry of s.audio.entries) {
      signal.throwIfAborted();
      if (s.mode === 'merge' && (await target.liveAudioSize(entry.path)) !== null) {
        progress.add(entry.size);
        continue;
      }
      const data = checkedEntry(await archive.openEntry(entry.path), entry, (n) => progress.add(n));
      await target.writeStagedAudio(restoreId, s.audio.folder, entry.path, data, signal);
      staged += 1;
    }
    await target.syncStagedAudio(restoreId, s.audio.folder, signal);
    progress.section(s.section, { filesWritten: staged });
  }

  /**
   * A section failed before or during its commit. The journal decides: still `staging` → it
   * becomes `rolled_back` and the staged audio goes; already `committed` (the COMMIT went
   * through but its answer was lost) → returns and the caller finishes; unknown (the
   * database cannot be asked) → nothing is removed, recovery decides later.
   */
  private async undoUncommitted(restoreId: string, s: PlannedSection, progress: RestoreProgressTracker, cause: unknown): Promise<void> {
    const target = this.options.target;
    const rolledBack = await target.markJournal(restoreId, s.section, 'staging', 'rolled_back').catch(() => null);
    if (rolledBack) {
      if (s.audio) await target.discardStagedAudio(restoreId, s.audio.folder);
      progress.section(s.section, { status: 'rolled-back', filesWritten: 0 });
      throw new RestoreFailedError(`restore of ${s.section} failed and was rolled back: ${message(cause)}`, progress.snapshot().sections, false, { cause });
    }
    const state = rolledBack === false ? (await target.readJournal(restoreId, { waitForWriters: true })).find((j) => j.section === s.section)?.state : undefined;
    if (state === 'committed' || state === 'done') return;
    progress.section(s.section, { status: 'failed' });
    throw new RestoreFailedError(`restore of ${s.section} failed and its outcome could not be recorded; run recover: ${message(cause)}`, progress.snapshot().sections, true, {
      cause,
    });
  }

  private async settle(entry: RestoreJournalEntry): Promise<RecoveryOutcome> {
    const target = this.options.target;
    const { restoreId, section, audioFolder, mode } = entry;
    switch (entry.state) {
      case 'staging':
        if (!(await target.markJournal(restoreId, section, 'staging', 'rolled_back'))) {
          const now = (await target.readJournal(restoreId, { waitForWriters: true })).find((j) => j.section === section);
          if (!now || now.state === 'staging') throw new Error(`restore ${restoreId}: journal of ${section} cannot be settled`);
          return this.settle(now);
        }
        if (audioFolder) await target.discardStagedAudio(restoreId, audioFolder);
        return 'rolled-back';
      case 'committed':
        if (audioFolder) await target.publishStagedAudio(restoreId, audioFolder, mode);
        await target.markJournal(restoreId, section, 'committed', 'done');
        return 'finished';
      case 'done':
        return 'already-done';
      case 'rolled_back':
        if (audioFolder) await target.discardStagedAudio(restoreId, audioFolder);
        return 'already-rolled-back';
    }
  }

  // ---- archive reading ----

  private tableLoads(archive: SarArchive, s: PlannedSection, onBytes: (n: number) => void): TableLoad[] {
    return s.tables.map(({ table, entry }) => ({ table, open: async () => checkedEntry(await archive.openEntry(entry.path), entry, onBytes) }));
  }

  /** By name and SHA-256 (live files are hashed only when their size matches). */
  private async diffAudio(s: PlannedSection): Promise<AudioDiff | null> {
    if (!s.audio) return null;
    const target = this.options.target;
    const diff: AudioDiff = { folder: s.audio.folder, filesAdded: 0, filesReplaced: 0, filesRemoved: 0, filesUnchanged: 0, bytesToWrite: 0 };
    const inArchive = new Set<string>();
    for (const entry of s.audio.entries) {
      inArchive.add(entry.path);
      const size = await target.liveAudioSize(entry.path);
      if (size === null) {
        diff.filesAdded += 1;
        diff.bytesToWrite += entry.size;
      } else if (s.mode === 'merge' || (size === entry.size && (await target.liveAudioSha256(entry.path)) === entry.sha256)) {
        diff.filesUnchanged += 1;
      } else {
        diff.filesReplaced += 1;
        diff.bytesToWrite += entry.size;
      }
    }
    if (s.mode === 'replace') {
      for await (const live of target.liveAudio(s.audio.folder)) if (!inArchive.has(live.relativePath)) diff.filesRemoved += 1;
    } else {
      for await (const live of target.liveAudio(s.audio.folder)) if (!inArchive.has(live.relativePath)) diff.filesUnchanged += 1;
    }
    return diff;
  }
}

function replacedOf(plan: RestorePlan): PbxSection[] {
  return plan.sections.filter((s) => s.mode === 'replace').map((s) => s.section);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

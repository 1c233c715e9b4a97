import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncPath, type AudioFile, type AudioKind, type PbxRestoreTarget, type PbxSection, type PbxSource, type PbxTable } from '@pbx/pbx-source';
import { writeSar, type SarSource } from '@pbx/sar';
import { SECTION_LAYOUT } from './restore-plan';
import type { SafetyBackup } from './restore.types';

/** Written last: a capture without it is incomplete (and nothing was replaced yet). */
const CAPTURED = 'captured.json';

interface Captured {
  sections: PbxSection[];
  /** Per replaced audio folder, the files it held (linked into the capture folder). */
  audio: Partial<Record<AudioKind, { relativePath: string; size: number }[]>>;
}

/**
 * The safety backup of a restore, in two steps, so that restoring does not wait for an archive:
 *
 * 1. `capture`, before any section changes (while the archive is being verified): the replaced
 *    sections' tables are copied out as CSV files beside the artifacts, and their audio files
 *    hard-linked into `<folder>.safety-<restoreId>` beside the live folder (copied where a link
 *    is refused): the swap replaces the live folder, never a file in place, so the links keep
 *    the old audio whatever the restore does.
 * 2. `pack` (while the sections are restored, or by recovery after a crash): the ordinary writer
 *    packs the capture into `<artifactDir>/safety-<restoreId>.sar`; restoring that file undoes
 *    the restore. `release` removes the capture once the archive is kept.
 *
 * Between the two steps the way back is on disk; a crash in between is finished by recovery.
 */
export class SafetyBackupWriter {
  constructor(
    private readonly source: PbxSource,
    private readonly target: PbxRestoreTarget,
    private readonly artifactDir: string,
    private readonly pbxId: string,
    /** link(2); a spec passes one that refuses, as a filesystem without hard links does. */
    private readonly linkFile: (existing: string, created: string) => Promise<void> = link,
  ) {}

  pathOf(restoreId: string): string {
    return join(this.artifactDir, `safety-${restoreId}.sar`);
  }

  private captureDir(restoreId: string): string {
    return join(this.artifactDir, `safety-${restoreId}.capture`);
  }

  async capture(restoreId: string, sections: PbxSection[], signal?: AbortSignal): Promise<void> {
    const dir = this.captureDir(restoreId);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const captured: Captured = { sections, audio: {} };
    for (const section of sections) {
      const { tables, audio } = SECTION_LAYOUT[section];
      for (const { table } of tables) {
        signal?.throwIfAborted();
        const csv = table === 'cdr' ? await this.source.openCdrCsv() : table === 'voicemails' ? await this.source.openVoicemailCsv() : await this.source.openCoreTable(table);
        await pipeline(csv, createWriteStream(join(dir, `${table}.csv`)), { signal });
        await fsyncPath(join(dir, `${table}.csv`));
      }
      if (audio) captured.audio[audio] = await this.linkAudio(restoreId, audio, signal);
    }
    await writeFile(join(dir, `${CAPTURED}.partial`), JSON.stringify(captured));
    await fsyncPath(join(dir, `${CAPTURED}.partial`));
    await rename(join(dir, `${CAPTURED}.partial`), join(dir, CAPTURED));
    await fsyncPath(dir);
  }

  /** The capture is complete (the restore may have changed sections since): it must be packed. */
  async hasCapture(restoreId: string): Promise<boolean> {
    return (await stat(join(this.captureDir(restoreId), CAPTURED)).catch(() => null)) !== null;
  }

  /** Restores whose complete capture was not packed yet (a crash after the last section, say). */
  async pendingCaptures(): Promise<string[]> {
    const names = await readdir(this.artifactDir).catch(() => [] as string[]);
    const ids = names.filter((n) => n.startsWith('safety-') && n.endsWith('.capture')).map((n) => n.slice('safety-'.length, -'.capture'.length));
    const pending: string[] = [];
    for (const id of ids) if (await this.hasCapture(id)) pending.push(id);
    return pending;
  }

  async pack(restoreId: string, onBytes: (bytesWritten: number) => void, signal?: AbortSignal): Promise<SafetyBackup> {
    const dir = this.captureDir(restoreId);
    const captured = JSON.parse(await readFile(join(dir, CAPTURED), 'utf8')) as Captured;
    const path = this.pathOf(restoreId);
    const partial = `${path}.partial`;
    const result = await writeSar({
      source: await this.capturedSource(restoreId, dir, captured),
      sections: { coreData: captured.sections.includes('coreData'), cdrAndVoicemails: captured.sections.includes('cdrAndVoicemails'), announcements: captured.sections.includes('announcements') },
      outPath: partial,
      configurationName: `safety before restore ${restoreId}`,
      pbxId: this.pbxId,
      kind: 'backup',
      // A way back kept for the download window, packed beside a restore: speed over the last
      // percent of size (level 1: 806 vs 799 MiB at 1 GB, 5.5 vs 7.1 s).
      textLevel: 1,
      signal,
      onProgress: (p) => onBytes(p.bytesWritten),
    });
    await rename(partial, path);
    return { path, size: result.size, sha256: result.sha256, sections: captured.sections };
  }

  /** After the safety backup is kept (or when the restore changed nothing): the capture goes. */
  async release(restoreId: string): Promise<void> {
    for (const kind of AUDIO_KINDS) await rm(this.linkDir(restoreId, kind), { recursive: true, force: true });
    await rm(this.captureDir(restoreId), { recursive: true, force: true });
    await rm(`${this.pathOf(restoreId)}.partial`, { force: true });
  }

  /** A restore that changed nothing needs no way back: the capture and any archive packed from it go. */
  async drop(restoreId: string): Promise<void> {
    await this.release(restoreId);
    await rm(this.pathOf(restoreId), { force: true });
  }

  /** Removes what a restorer that died while writing the safety backup left (not the capture). */
  async discardPartial(restoreId: string): Promise<void> {
    await rm(`${this.pathOf(restoreId)}.partial`, { force: true });
  }

  /** Beside the live folder (the same filesystem: a link, not a copy). */
  private linkDir(restoreId: string, kind: AudioKind): string {
    return `${this.target.liveAudioDir(kind)}.safety-${restoreId}`;
  }

  /** Links (or copies) every live file of `kind` into its capture folder, durably; returns what it holds. */
  private async linkAudio(restoreId: string, kind: AudioKind, signal?: AbortSignal): Promise<{ relativePath: string; size: number }[]> {
    const into = this.linkDir(restoreId, kind);
    await rm(into, { recursive: true, force: true });
    await mkdir(into, { recursive: true });
    const files: { relativePath: string; size: number }[] = [];
    const dirs = new Set<string>([into]);
    for await (const f of this.source.audioFiles(kind)) {
      signal?.throwIfAborted();
      const target = join(into, insideFolder(kind, f.relativePath));
      if (!dirs.has(dirname(target))) {
        await mkdir(dirname(target), { recursive: true });
        dirs.add(dirname(target));
      }
      await this.linkFile(f.absolutePath, target).catch(async (err: NodeJS.ErrnoException) => {
        if (!LINK_REFUSED.has(err.code ?? '')) throw err;
        await copyFile(f.absolutePath, target); // another filesystem, or links not allowed: slower, same result
        await fsyncPath(target);
      });
      files.push({ relativePath: f.relativePath, size: f.size });
    }
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) await fsyncPath(d); // deepest first
    await fsyncPath(dirname(into));
    return files;
  }

  /** The PBX as it was before the restore: the captured tables and audio. */
  private async capturedSource(restoreId: string, dir: string, captured: Captured): Promise<SarSource> {
    const table = async (name: PbxTable) => createReadStream(join(dir, `${name}.csv`), { highWaterMark: 1 << 20 });
    return {
      openCoreTable: (t) => table(t),
      openCdrCsv: () => table('cdr'),
      openVoicemailCsv: () => table('voicemails'),
      audioFiles: (kind) => audioFrom(this.linkDir(restoreId, kind), kind, captured.audio[kind] ?? []),
    };
  }
}

const AUDIO_KINDS: readonly AudioKind[] = ['voicemail', 'announcements'];
/** link(2) failures that a copy gets around (another filesystem below the data dir, no hard links there). */
const LINK_REFUSED = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);

function insideFolder(kind: AudioKind, relativePath: string): string {
  return relativePath.slice(kind.length + 1);
}

/** The captured files of `kind`, read from `folder` (sizes checked: captured audio is never changed). */
async function* audioFrom(folder: string, kind: AudioKind, files: { relativePath: string; size: number }[]): AsyncGenerator<AudioFile> {
  for (const f of files) {
    const absolutePath = join(folder, insideFolder(kind, f.relativePath));
    const size = (await stat(absolutePath)).size;
    if (size !== f.size) throw new Error(`safety backup: ${f.relativePath} changed since it was captured (${f.size} → ${size} bytes)`);
    yield { relativePath: f.relativePath, absolutePath, size };
  }
}

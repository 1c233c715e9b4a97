import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncPath, type AudioFile, type AudioKind, type PbxRestoreTarget, type PbxSection, type PbxSource, type PbxTable } from '@pbx/pbx-source';
import { writeSar, type SarSource } from '@pbx/sar';
import { SECTION_LAYOUT } from './restore-plan';
import type { SafetyBackup } from './restore.types';

/** Written last: a capture without it is incomplete (and nothing was replaced yet). */
const CAPTURED = 'captured.json';

interface Captured {
  sections: PbxSection[];
  /** Per replaced audio folder, the files it held: packed from the set-aside folder if it was swapped, else from the live one. */
  audio: Partial<Record<AudioKind, { relativePath: string; size: number }[]>>;
}

/**
 * The safety backup of a restore, in two steps, so that restoring does not wait for an archive:
 *
 * 1. `capture`, before any section changes (while the archive is being verified): the replaced
 *    sections' tables are copied out as CSV files beside the artifacts, and the names of the
 *    audio files they hold recorded. The audio itself is kept by the restore: a `replace` sets
 *    the live folder aside instead of removing it (`keepReplaced`).
 * 2. `pack`, after the sections are restored (or by recovery after a crash): the ordinary
 *    writer packs the captured tables and the set-aside audio into
 *    `<artifactDir>/safety-<restoreId>.sar`; restoring that file undoes the restore. `release`
 *    then removes the capture and the set-aside folders.
 *
 * Between the two steps the way back is on disk; a crash in between is finished by recovery.
 */
export class SafetyBackupWriter {
  constructor(
    private readonly source: PbxSource,
    private readonly target: PbxRestoreTarget,
    private readonly artifactDir: string,
    private readonly pbxId: string,
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
      if (audio) {
        const files: { relativePath: string; size: number }[] = [];
        for await (const f of this.source.audioFiles(audio)) files.push({ relativePath: f.relativePath, size: f.size });
        captured.audio[audio] = files;
      }
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
      signal,
      onProgress: (p) => onBytes(p.bytesWritten),
    });
    await rename(partial, path);
    return { path, size: result.size, sha256: result.sha256, sections: captured.sections };
  }

  /** After the safety backup is kept (or when the restore changed nothing): the capture and the set-aside folders go. */
  async release(restoreId: string): Promise<void> {
    for (const folder of ['voicemail', 'announcements'] as const) await this.target.discardReplacedAudio(restoreId, folder);
    await rm(this.captureDir(restoreId), { recursive: true, force: true });
    await rm(`${this.pathOf(restoreId)}.partial`, { force: true });
  }

  /** Removes what a restorer that died while writing the safety backup left (not the capture). */
  async discardPartial(restoreId: string): Promise<void> {
    await rm(`${this.pathOf(restoreId)}.partial`, { force: true });
  }

  /** The PBX as it was before the restore: captured tables, audio from where it was set aside. */
  private async capturedSource(restoreId: string, dir: string, captured: Captured): Promise<SarSource> {
    const folders = new Map<AudioKind, string>();
    for (const kind of Object.keys(captured.audio) as AudioKind[]) {
      folders.set(kind, (await this.target.replacedAudioDir(restoreId, kind)) ?? this.target.liveAudioDir(kind));
    }
    const table = async (name: PbxTable) => createReadStream(join(dir, `${name}.csv`), { highWaterMark: 1 << 20 });
    return {
      openCoreTable: (t) => table(t),
      openCdrCsv: () => table('cdr'),
      openVoicemailCsv: () => table('voicemails'),
      audioFiles: (kind) => audioFrom(folders.get(kind), kind, captured.audio[kind] ?? []),
    };
  }
}

/** The recorded files of `kind`, read from `folder` (sizes checked: set-aside data is never changed). */
async function* audioFrom(folder: string | undefined, kind: AudioKind, files: { relativePath: string; size: number }[]): AsyncGenerator<AudioFile> {
  if (!folder) return;
  for (const f of files) {
    const absolutePath = join(folder, f.relativePath.slice(kind.length + 1));
    const size = (await stat(absolutePath)).size;
    if (size !== f.size) throw new Error(`safety backup: ${f.relativePath} changed since it was captured (${f.size} → ${size} bytes)`);
    yield { relativePath: f.relativePath, absolutePath, size };
  }
}

import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PbxSection, PbxSource } from '@pbx/pbx-source';
import { writeSar } from '@pbx/sar';
import type { SafetyBackup } from './restore.types';

/**
 * Writes the safety backup of a restore: the sections it replaces, as they are now, packed
 * with the ordinary writer into `<artifactDir>/safety-<restoreId>.sar`, so the restore can
 * be undone by restoring that file.
 */
export class SafetyBackupWriter {
  constructor(
    private readonly source: PbxSource,
    private readonly artifactDir: string,
    private readonly pbxId: string,
  ) {}

  pathOf(restoreId: string): string {
    return join(this.artifactDir, `safety-${restoreId}.sar`);
  }

  async write(restoreId: string, sections: PbxSection[], onBytes: (bytesWritten: number) => void, signal?: AbortSignal): Promise<SafetyBackup> {
    const path = this.pathOf(restoreId);
    const partial = `${path}.partial`;
    await mkdir(this.artifactDir, { recursive: true });
    const result = await writeSar({
      source: this.source,
      sections: { coreData: sections.includes('coreData'), cdrAndVoicemails: sections.includes('cdrAndVoicemails'), announcements: sections.includes('announcements') },
      outPath: partial,
      configurationName: `safety before restore ${restoreId}`,
      pbxId: this.pbxId,
      kind: 'backup',
      signal,
      onProgress: (p) => onBytes(p.bytesWritten),
    });
    await rename(partial, path);
    return { path, size: result.size, sha256: result.sha256, sections };
  }

  /** Removes what a restorer that died while writing the safety backup left. */
  async discardPartial(restoreId: string): Promise<void> {
    await rm(`${this.pathOf(restoreId)}.partial`, { force: true });
  }
}

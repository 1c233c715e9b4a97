import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ArtifactMissingError, type ArtifactStore, type ByteRange } from './artifact-store';

/** Artifacts as files below one directory (ARTIFACT_DIR), shared by every app that needs them. */
export class FsArtifactStore implements ArtifactStore {
  readonly kind = 'fs' as const;
  constructor(private readonly dir: string) {}

  /** The artifact's path (only this store has one). */
  pathOf(key: string): string {
    const path = resolve(this.dir, key);
    if (!path.startsWith(resolve(this.dir) + '/')) throw new Error(`artifact key ${JSON.stringify(key)} leaves the artifact directory`);
    return path;
  }

  async put(key: string, localFile: string): Promise<void> {
    const target = this.pathOf(key);
    if (resolve(localFile) === target) return;
    await mkdir(dirname(target), { recursive: true });
    await rename(localFile, target);
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const st = await stat(this.pathOf(key)).catch(() => null);
    return st?.isFile() ? { size: st.size } : null;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (!(await this.stat(key))) throw new ArtifactMissingError(key);
    return createReadStream(this.pathOf(key), range ? { start: range.start, end: range.end } : {});
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async withLocalFile<T>(key: string, _scratchDir: string, fn: (path: string) => Promise<T>): Promise<T> {
    if (!(await this.stat(key))) throw new ArtifactMissingError(key);
    return fn(this.pathOf(key));
  }
}

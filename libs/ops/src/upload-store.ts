import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactStore } from '@pbx/artifacts';
import { uploadedArchiveKeys, uploadedArchiveOf } from '@pbx/destinations';
import { isAgeFile } from '@pbx/encryption';

export interface UploadMeta {
  id: string;
  /** The size the client announced (POST or a Content-Range total), null until known. */
  size: number | null;
  createdAt: string;
  expiresAt: string;
  completedAt: string | null;
  /** The finished archive's key in the artifact store (`uploads/<id>.sar[.age]`); absent until complete. */
  key?: string;
}

/**
 * Uploads for restores. The pieces are assembled on this host, below `<ARTIFACT_DIR>/uploads`:
 * `<id>.json` the record, `<id>.part` the bytes so far (the bytes received are its size, so a
 * broken connection loses nothing that reached the disk). Once complete, the file goes into the
 * artifact store under `uploads/<id>.sar` (`.sar.age` when it is age-encrypted), where the packer
 * reads it: with `fs` that is a rename in the same folder (no copy), with `s3` a multipart upload,
 * after which the part file is gone and no host needs the api's disk.
 */
export class UploadStore {
  constructor(
    readonly dir: string,
    private readonly artifacts: ArtifactStore,
  ) {}

  async create(size: number | null, ttlMs: number, now = new Date()): Promise<UploadMeta> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const meta: UploadMeta = { id: randomUUID(), size, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttlMs).toISOString(), completedAt: null };
    await writeFile(this.partPath(meta.id), '', { mode: 0o600, flag: 'wx' });
    await this.save(meta);
    return meta;
  }

  async find(id: string): Promise<UploadMeta | null> {
    const text = await readFile(join(this.dir, `${id}.json`), 'utf8').catch(() => null);
    return text === null ? null : (JSON.parse(text) as UploadMeta);
  }

  save(meta: UploadMeta): Promise<void> {
    return writeFile(join(this.dir, `${meta.id}.json`), JSON.stringify(meta), { mode: 0o600 });
  }

  /** Bytes received so far (a finished upload: its size in the store). */
  async received(meta: UploadMeta): Promise<number> {
    if (!meta.completedAt) {
      const part = await stat(this.partPath(meta.id)).catch(() => null);
      if (part) return part.size;
    }
    // Complete, or stored but not yet recorded as complete (stopped between the two).
    return (await this.stored(meta.id))?.size ?? 0;
  }

  /**
   * Writes `body` at `offset` (0 with `truncate`: the whole file anew). What arrived before a
   * broken connection stays; the error is passed on.
   */
  async write(id: string, offset: number, body: Readable, truncate: boolean): Promise<void> {
    if (truncate) await (await open(this.partPath(id), 'w')).close();
    await pipeline(body, createWriteStream(this.partPath(id), { flags: 'r+', start: offset }));
  }

  /** A local file as a finished upload (the ops CLI's restore of a file). */
  async importFile(path: string, ttlMs: number): Promise<UploadMeta> {
    const { size } = await stat(path);
    const meta = await this.create(size, ttlMs);
    await this.write(meta.id, 0, createReadStream(path), true);
    return this.complete(meta);
  }

  /**
   * Puts the assembled file into the artifact store and records the upload complete. Safe to
   * repeat: when a previous call stored the file but stopped before recording it, only the
   * record is written.
   */
  async complete(meta: UploadMeta, now = new Date()): Promise<UploadMeta> {
    let key: string;
    const part = this.partPath(meta.id);
    if (await stat(part).catch(() => null)) {
      key = uploadedArchiveOf(meta.id, await isAgeFile(part));
      await this.artifacts.put(key, part);
    } else {
      const stored = await this.stored(meta.id);
      if (!stored) throw new Error(`upload ${meta.id} has neither its part file nor a stored archive`);
      key = stored.key;
    }
    const done: UploadMeta = { ...meta, completedAt: now.toISOString(), key };
    await this.save(done);
    return done;
  }

  /** Where a finished upload's archive is in the artifact store, and its size; null when it is not there. */
  async stored(id: string): Promise<{ key: string; size: number } | null> {
    for (const key of uploadedArchiveKeys(id)) {
      const st = await this.artifacts.stat(key);
      if (st) return { key, size: st.size };
    }
    return null;
  }

  /** The upload's files here and its archive in the artifact store. */
  async remove(id: string): Promise<void> {
    for (const key of uploadedArchiveKeys(id)) await this.artifacts.remove(key);
    // Written by earlier versions (the finished file beside the record).
    for (const path of [this.partPath(id), join(this.dir, `${id}.upload`), join(this.dir, `${id}.json`)]) await rm(path, { force: true });
  }

  /** Removes every upload whose time is up; returns how many. */
  async removeExpired(now = new Date()): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const meta = await this.find(name.slice(0, -'.json'.length)).catch(() => null);
      if (meta && new Date(meta.expiresAt) <= now) {
        await this.remove(meta.id);
        removed++;
      }
    }
    return removed;
  }

  private partPath(id: string): string {
    return join(this.dir, `${id}.part`);
  }
}

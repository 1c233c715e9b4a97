import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { uploadedArchiveOf } from '@pbx/destinations';

export interface UploadMeta {
  id: string;
  /** The size the client announced (POST or a Content-Range total), null until known. */
  size: number | null;
  createdAt: string;
  expiresAt: string;
  completedAt: string | null;
}

/**
 * Uploads on disk below `<ARTIFACT_DIR>/uploads` (the folder is shared like the artifacts, so
 * any api replica can continue one): `<id>.json` the record, `<id>.part` the bytes so far,
 * renamed to `<id>.upload` once complete. The bytes received are the part file's size, so a
 * broken connection loses nothing that reached the disk.
 */
export class UploadStore {
  constructor(readonly dir: string) {}

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

  /** Bytes received so far. */
  async received(meta: UploadMeta): Promise<number> {
    const st = await stat(meta.completedAt ? this.filePath(meta.id) : this.partPath(meta.id)).catch(() => null);
    return st?.size ?? 0;
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

  async complete(meta: UploadMeta, now = new Date()): Promise<UploadMeta> {
    await rename(this.partPath(meta.id), this.filePath(meta.id));
    const done = { ...meta, completedAt: now.toISOString() };
    await this.save(done);
    return done;
  }

  /** The finished file a restore reads. */
  filePath(id: string): string {
    return join(this.dir, basename(uploadedArchiveOf(id)));
  }

  async remove(id: string): Promise<void> {
    for (const path of [this.partPath(id), this.filePath(id), join(this.dir, `${id}.json`)]) await rm(path, { force: true });
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

import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsArtifactStore, type ArtifactStore } from '@pbx/artifacts';
import { S3ArtifactStore } from '@pbx/artifacts/s3';
import { AGE_HEADER } from '@pbx/encryption';
import { peers, tempDir, uniqueName } from '@pbx/testing';
import { UploadStore, type UploadMeta } from './upload-store';

const MiB = 1024 * 1024;
const DAY = 86_400_000;

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The api's host: its scratch folder below `host`, the artifact store fs (ARTIFACT_DIR = host) or s3 (s3rver). */
describe.each([
  ['fs', (host: string) => new FsArtifactStore(host)],
  ['s3 (s3rver)', () => new S3ArtifactStore({ ...peers.s3, forcePathStyle: true, prefix: `${uniqueName('upl')}/`, partSize: 5 * MiB })],
] as const)('UploadStore with the %s artifact store', (kind, make) => {
  let dir: { path: string; remove: () => Promise<void> };
  let artifacts: ArtifactStore;
  let uploads: UploadStore;
  const localNames = async () => (await readdir(uploads.dir)).sort();

  beforeEach(async () => {
    dir = await tempDir('pbx-uploads-');
    artifacts = make(dir.path);
    uploads = new UploadStore(join(dir.path, 'uploads'), artifacts);
  });
  afterEach(async () => {
    // The bucket is shared: this suite's objects go (removing what is gone is fine).
    for (const name of await readdir(uploads.dir).catch(() => [] as string[])) if (name.endsWith('.json')) await uploads.remove(name.slice(0, -'.json'.length));
    await dir.remove();
  });

  async function assemble(content: Buffer, pieces: number): Promise<UploadMeta> {
    const meta = await uploads.create(content.length, DAY);
    const step = Math.ceil(content.length / pieces);
    for (let at = 0; at < content.length; at += step) {
      expect(await uploads.received(meta)).toBe(at);
      await uploads.write(meta.id, at, Readable.from([content.subarray(at, at + step)]), false);
    }
    return meta;
  }

  it('assembles ranged pieces here, then puts the finished upload into the store as uploads/<id>.sar', async () => {
    const content = randomBytes(7 * MiB + 5);
    const meta = await assemble(content, 3);
    const partInode = (await stat(join(uploads.dir, `${meta.id}.part`))).ino;

    const done = await uploads.complete(meta);
    expect(done).toMatchObject({ completedAt: expect.any(String), key: `uploads/${meta.id}.sar` });
    expect(await uploads.received(done)).toBe(content.length);
    expect(await uploads.stored(meta.id)).toEqual({ key: `uploads/${meta.id}.sar`, size: content.length });
    expect((await bytesOf(await artifacts.read(`uploads/${meta.id}.sar`))).equals(content)).toBe(true);
    const range = await bytesOf(await artifacts.read(`uploads/${meta.id}.sar`, { start: 5 * MiB - 2, end: 5 * MiB + 1 }));
    expect(range.equals(content.subarray(5 * MiB - 2, 5 * MiB + 2))).toBe(true);
    if (kind === 'fs') {
      // The store is ARTIFACT_DIR: the part file was renamed in place, never copied.
      expect(await localNames()).toEqual([`${meta.id}.json`, `${meta.id}.sar`]);
      expect((await stat(join(uploads.dir, `${meta.id}.sar`))).ino).toBe(partInode);
    } else {
      // Only the record stays on this host; the bytes are in the bucket.
      expect(await localNames()).toEqual([`${meta.id}.json`]);
    }
  });

  it('an age-encrypted upload is stored as uploads/<id>.sar.age', async () => {
    const content = Buffer.concat([Buffer.from(AGE_HEADER, 'latin1'), randomBytes(4000)]);
    const done = await uploads.complete(await assemble(content, 2));
    expect(done.key).toBe(`uploads/${done.id}.sar.age`);
    expect(await uploads.stored(done.id)).toEqual({ key: `uploads/${done.id}.sar.age`, size: content.length });
  });

  it('completing again after a stop between storing and recording only writes the record', async () => {
    const content = randomBytes(100_000);
    const meta = await assemble(content, 2);
    // The api stopped after the put, before the record said complete.
    await artifacts.put(`uploads/${meta.id}.sar`, join(uploads.dir, `${meta.id}.part`));
    const found = await uploads.find(meta.id);
    expect(found?.completedAt).toBeNull();
    expect(await uploads.received(found!)).toBe(content.length);
    const done = await uploads.complete(found!);
    expect(done).toMatchObject({ completedAt: expect.any(String), key: `uploads/${meta.id}.sar` });
    expect((await bytesOf(await artifacts.read(done.key!))).equals(content)).toBe(true);
  });

  it('the expiry removes the upload from the store and from this host', async () => {
    const finished = await uploads.complete(await assemble(randomBytes(50_000), 1));
    const unfinished = await uploads.create(10, DAY);
    expect(await uploads.removeExpired(new Date(Date.now() + DAY / 2))).toBe(0);
    expect(await uploads.removeExpired(new Date(Date.now() + DAY + 1000))).toBe(2);
    expect(await artifacts.stat(finished.key!)).toBeNull();
    expect(await uploads.stored(finished.id)).toBeNull();
    expect(await uploads.find(unfinished.id)).toBeNull();
    expect(await localNames()).toEqual([]);
  });

  it('importFile (the ops CLI) leaves the given file alone and stores a copy', async () => {
    const content = randomBytes(20_000);
    const file = join(dir.path, 'given.sar');
    await writeFile(file, content);
    const done = await uploads.importFile(file, DAY);
    expect((await readFile(file)).equals(content)).toBe(true);
    expect((await bytesOf(await artifacts.read(done.key!))).equals(content)).toBe(true);
  });
});

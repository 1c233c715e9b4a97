import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3ArtifactStore } from './s3-artifact-store';
import { makeTestArchive, peers, tempDir, uniqueName } from '@pbx/testing';
import { ArtifactMissingError, type ArtifactStore } from './artifact-store';
import { FsArtifactStore } from './fs-artifact-store';
import { createArtifactStore } from './index';

const MiB = 1024 * 1024;

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function s3Store(prefix: string): S3ArtifactStore {
  const { endpoint, region, bucket, accessKeyId, secretAccessKey } = peers.s3;
  // Small parts and ranges so a few MiB exercise multipart and several ranged GETs.
  return new S3ArtifactStore({ endpoint, region, bucket, accessKeyId, secretAccessKey, forcePathStyle: true, prefix, partSize: 5 * MiB, rangeBytes: 3 * MiB });
}

describe.each([
  ['fs', (dir: string) => new FsArtifactStore(join(dir, 'store'))],
  ['s3 (s3rver)', () => s3Store(`${uniqueName('art')}/`)],
] as const)('ArtifactStore: %s', (_kind, make) => {
  let dir: { path: string; remove: () => Promise<void> };
  let store: ArtifactStore;
  beforeEach(async () => {
    dir = await tempDir('pbx-artifacts-');
    store = make(dir.path);
  });
  afterEach(() => dir.remove());

  it('put moves a packed file in (the local file is gone), stat/read/range/withLocalFile give its bytes back, remove deletes it', async () => {
    const archive = await makeTestArchive(dir.path, 11 * MiB + 17, 'run.sar');
    const original = await readFile(archive.filePath);
    await store.put('run-1.sar', archive.filePath);
    await expect(stat(archive.filePath)).rejects.toMatchObject({ code: 'ENOENT' });

    expect(await store.stat('run-1.sar')).toEqual({ size: archive.size });
    expect((await bytesOf(await store.read('run-1.sar'))).equals(original)).toBe(true);
    const range = await bytesOf(await store.read('run-1.sar', { start: 5 * MiB - 3, end: 5 * MiB + 4 }));
    expect(range.equals(original.subarray(5 * MiB - 3, 5 * MiB + 5))).toBe(true);

    const scratch = join(dir.path, 'scratch');
    const seen = await store.withLocalFile('run-1.sar', scratch, async (path) => readFile(path));
    expect(seen.equals(original)).toBe(true);

    await store.remove('run-1.sar');
    await store.remove('run-1.sar'); // already gone: fine
    expect(await store.stat('run-1.sar')).toBeNull();
    await expect(store.read('run-1.sar')).rejects.toBeInstanceOf(ArtifactMissingError);
    await expect(store.withLocalFile('run-1.sar', scratch, async () => 1)).rejects.toBeInstanceOf(ArtifactMissingError);
  });

  it('keys with a folder (restores/<id>.fetched) work; a key leaving the store is refused', async () => {
    const archive = await makeTestArchive(dir.path, 1000, 'x.sar');
    await store.put('restores/abc.fetched', archive.filePath);
    expect(await store.stat('restores/abc.fetched')).toEqual({ size: 1000 });
    await expect(store.put('../escape.sar', archive.filePath)).rejects.toThrow(/artifact key/);
  });
});

describe('S3ArtifactStore against s3rver', () => {
  it('keeps the objects below S3_PREFIX in S3_BUCKET (what another host finds there)', async () => {
    const dir = await tempDir('pbx-artifacts-');
    try {
      const prefix = `${uniqueName('pfx')}/`;
      const archive = await makeTestArchive(dir.path, 6 * MiB, 'a.sar');
      await s3Store(prefix).put('r.sar', archive.filePath);
      const onDisk = join(peers.s3.dataDir, peers.s3.bucket, `${prefix}r.sar._S3rver_object`);
      expect((await stat(onDisk)).size).toBe(6 * MiB);
      // A second store (another host: nothing shared but the bucket) reads it.
      const other = createArtifactStore({ ARTIFACT_STORE: 's3', ARTIFACT_DIR: '/nonexistent', S3_ENDPOINT: peers.s3.endpoint, S3_REGION: 'us-east-1', S3_BUCKET: peers.s3.bucket, S3_PREFIX: prefix, S3_ACCESS_KEY_ID: peers.s3.accessKeyId, S3_SECRET_ACCESS_KEY: peers.s3.secretAccessKey, S3_FORCE_PATH_STYLE: true });
      expect(other.kind).toBe('s3');
      expect(await other.stat('r.sar')).toEqual({ size: 6 * MiB });
      await other.remove('r.sar');
    } finally {
      await dir.remove();
    }
  });

  it('an aborted put leaves no object', async () => {
    const dir = await tempDir('pbx-artifacts-');
    try {
      const store = s3Store(`${uniqueName('abort')}/`);
      const archive = await makeTestArchive(dir.path, 12 * MiB, 'a.sar');
      const ac = new AbortController();
      // Aborted while the parts are on their way (the packer lost its lock mid-upload).
      const put = store.put('r.sar', archive.filePath, { signal: ac.signal });
      setImmediate(() => ac.abort());
      await expect(put).rejects.toThrow();
      await expect(store.put('r.sar', archive.filePath, { signal: ac.signal })).rejects.toThrow();
      expect(await store.stat('r.sar')).toBeNull();
    } finally {
      await dir.remove();
    }
  });
});

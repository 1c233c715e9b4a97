import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ArtifactMissingError, type ArtifactStore, type ByteRange } from './artifact-store';
import { createS3Client, s3ErrorOf, type S3Settings } from './s3-client';

export interface S3ArtifactStoreOptions extends S3Settings {
  /** Prepended to every key, e.g. `site-1/` (ends with '/' or is empty). */
  prefix: string;
  /** Multipart part size (min 5 MiB); memory held is about partSize × queueSize. */
  partSize?: number;
  queueSize?: number;
  /** Bytes per ranged GET when a local copy is fetched (a failed range is asked for again from where it broke). */
  rangeBytes?: number;
}

const MiB = 1024 * 1024;

/** Artifacts as objects in one bucket: no host needs a filesystem shared with another. */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly options: S3ArtifactStoreOptions, client?: S3Client) {
    this.client = client ?? createS3Client(options);
  }

  private keyOf(key: string): string {
    if (key.startsWith('/') || key.split('/').includes('..')) throw new Error(`artifact key ${JSON.stringify(key)} is not a relative name`);
    return `${this.options.prefix}${key}`;
  }

  async put(key: string, localFile: string, options?: { signal?: AbortSignal }): Promise<void> {
    options?.signal?.throwIfAborted();
    const abortController = new AbortController();
    const onAbort = () => abortController.abort();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Multipart from a file stream: at most partSize × queueSize in memory, whatever the size;
      // a failed upload is aborted (leavePartsOnError: false) so no parts are left to pay for.
      await new Upload({
        client: this.client,
        params: { Bucket: this.options.bucket, Key: this.keyOf(key), Body: createReadStream(localFile), ContentType: 'application/octet-stream' },
        partSize: this.options.partSize ?? 8 * MiB,
        queueSize: this.options.queueSize ?? 2,
        leavePartsOnError: false,
        abortController,
      }).done();
    } finally {
      options?.signal?.removeEventListener('abort', onAbort);
    }
    await rm(localFile, { force: true });
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }));
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNoSuchKey(err)) return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange, options?: { signal?: AbortSignal }): Promise<Readable> {
    try {
      const got = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
        { abortSignal: options?.signal },
      );
      // In Node the body is the response's IncomingMessage: a stream, read as it arrives.
      return got.Body as Readable;
    } catch (err) {
      if (isNoSuchKey(err)) throw new ArtifactMissingError(key);
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }));
  }

  async withLocalFile<T>(key: string, scratchDir: string, fn: (path: string) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T> {
    const st = await this.stat(key);
    if (!st) throw new ArtifactMissingError(key);
    await mkdir(scratchDir, { recursive: true });
    const path = join(scratchDir, `${randomUUID()}-${basename(key)}.fetched`);
    try {
      await this.fetch(key, st.size, path, options?.signal);
      return await fn(path);
    } finally {
      await rm(path, { force: true });
    }
  }

  /** Ranged GETs written in order; a range that breaks off is asked for again from where it stopped (3 tries in a row). */
  private async fetch(key: string, size: number, path: string, signal?: AbortSignal): Promise<void> {
    const step = this.options.rangeBytes ?? 16 * MiB;
    const file = await open(path, 'w');
    try {
      let pos = 0;
      let failures = 0;
      while (pos < size) {
        signal?.throwIfAborted();
        const end = Math.min(pos + step, size) - 1;
        try {
          const body = await this.read(key, { start: pos, end }, { signal });
          for await (const chunk of body as AsyncIterable<Buffer>) {
            await file.write(chunk, 0, chunk.length, pos);
            pos += chunk.length;
          }
          failures = 0;
        } catch (err) {
          if (signal?.aborted || err instanceof ArtifactMissingError || ++failures >= 3) throw err;
        }
      }
      await file.sync();
    } finally {
      await file.close();
    }
  }
}

function isNoSuchKey(err: unknown): boolean {
  const e = s3ErrorOf(err);
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.status === 404 && e.name !== 'NoSuchBucket');
}

import { createReadStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket on an upload stream: tokens accrue at `bytesPerSecond` up to a burst of 1/20 s
 * of traffic (at least 16 KiB); each piece of at most one burst waits until the bucket has paid
 * for it. Bytes are never held beyond one piece, so the idle watchdogs keep seeing progress.
 */
export interface BucketClock {
  now(): number;
  sleep(ms: number): Promise<unknown>;
}
const realClock: BucketClock = { now: () => performance.now(), sleep: (ms) => sleep(ms) };

export class TokenBucket {
  /** Largest piece one take should ask for: 1/20 s of traffic, at least 16 KiB. */
  readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: BucketClock = realClock,
  ) {
    this.burst = Math.max(16 * 1024, Math.floor(bytesPerSecond / 20));
    this.tokens = this.burst;
    this.last = clock.now();
  }

  /** Resolves when `bytes` may go: tokens refill at the rate up to one burst; a debt is waited off. */
  async take(bytes: number): Promise<void> {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) await this.clock.sleep((-this.tokens * 1000) / this.bytesPerSecond);
  }
}

export class TokenBucketStream extends Transform {
  private readonly bucket: TokenBucket;

  constructor(bytesPerSecond: number, clock?: BucketClock) {
    super();
    this.bucket = new TokenBucket(bytesPerSecond, clock);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pass(chunk).then(() => done(), done);
  }

  private async pass(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length && !this.destroyed; at += this.bucket.burst) {
      const piece = chunk.subarray(at, at + this.bucket.burst);
      await this.bucket.take(piece.length);
      this.push(piece);
    }
  }
}

/** The archive as a stream, limited to `bytesPerSecond` when one is set. */
export function uploadStream(path: string, bytesPerSecond: number | undefined, options: { signal?: AbortSignal; highWaterMark?: number } = {}): Readable {
  const file = createReadStream(path, { highWaterMark: options.highWaterMark ?? 1024 * 1024, signal: options.signal });
  if (!bytesPerSecond) return file;
  const bucket = new TokenBucketStream(bytesPerSecond);
  file.on('error', (err) => bucket.destroy(err));
  bucket.on('close', () => file.destroy());
  return file.pipe(bucket);
}

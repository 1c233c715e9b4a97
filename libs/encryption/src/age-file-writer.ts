import { createCipheriv, createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { agePreamble, streamSealer, type AgeRecipients, type StreamSealer } from './age-native';

/** Ciphertext gathered before it is handed to the disk (one write at a time is in flight). */
const WRITE_BYTES = 1024 * 1024;

/**
 * Writes an age file from plaintext fed to it: the packer's ZIP writer writes the archive into
 * it (an ArchiveSink, libs/sar), so the plain archive is never on disk. It seals on the caller's
 * thread (OpenSSL's ChaCha20-Poly1305, ~1.9 GB/s on one core here) and hashes what it writes;
 * each write goes to libuv's pool while the next megabyte is sealed. No worker thread: a worker
 * isolate cost +10 to +18 MiB of peak RSS for ~4 % speed (bench/pack/README.md). Memory: about
 * two megabytes of ciphertext. A disk failure rejects the next `write` or `finish`; the caller
 * removes the file after a failure.
 */
export class AgeFileWriter {
  private readonly hash = createHash('sha256');
  private size = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    private readonly sealer: StreamSealer,
    prefix: Buffer,
  ) {
    this.out.push(prefix);
    this.outBytes = prefix.length;
  }

  static async open(path: string, key: AgeRecipients): Promise<AgeFileWriter> {
    const preamble = await agePreamble(key);
    const fh = await open(path, 'w');
    return new AgeFileWriter(fh, streamSealer({ createCipheriv }, preamble.payloadKey), preamble.prefix);
  }

  async write(chunk: Buffer): Promise<void> {
    this.throwIfFailed();
    const before = this.out.length;
    this.sealer.update(chunk, this.out);
    for (let i = before; i < this.out.length; i++) this.outBytes += this.out[i].length;
    if (this.outBytes >= WRITE_BYTES) await this.flush();
  }

  async finish(): Promise<{ size: number; sha256: string }> {
    this.throwIfFailed();
    const before = this.out.length;
    this.sealer.final(this.out);
    for (let i = before; i < this.out.length; i++) this.outBytes += this.out[i].length;
    await this.flush();
    await this.writing;
    this.throwIfFailed();
    await this.close();
    return { size: this.size, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    this.failure ??= new Error('age encryption: aborted');
    await this.writing.catch(() => undefined);
    await this.close();
  }

  /** Waits for the previous write, then starts this one without waiting for it. */
  private async flush(): Promise<void> {
    const buffers = this.out;
    this.out = [];
    this.outBytes = 0;
    for (const b of buffers) {
      this.hash.update(b);
      this.size += b.length;
    }
    await this.writing;
    this.throwIfFailed();
    this.writing = this.writeAll(buffers).catch((err: Error) => {
      this.failure ??= err;
    });
  }

  private async writeAll(buffers: Buffer[]): Promise<void> {
    let rest = buffers;
    while (rest.length) {
      const { bytesWritten } = await this.fh.writev(rest);
      let skip = bytesWritten;
      const next: Buffer[] = [];
      for (const b of rest) {
        if (skip >= b.length) skip -= b.length;
        else {
          next.push(skip ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      if (next.length && bytesWritten === 0) throw new Error('age encryption: short write');
      rest = next;
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

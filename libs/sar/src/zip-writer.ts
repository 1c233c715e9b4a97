import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';

export type ZipMethod = 'store' | 'deflate';

export interface ZipEntryOptions {
  method: ZipMethod;
  /** zlib level for deflate (default 6, the same as `zip`). */
  level?: number;
  /** Sees every uncompressed chunk (e.g. to count CSV rows). */
  tap?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

export interface ZipEntryResult {
  path: string;
  size: number;
  compressedSize: number;
  crc32: number;
  sha256: string;
}

interface CentralRecord {
  name: Buffer;
  method: number;
  crc: number;
  size: number;
  compressedSize: number;
  offset: number;
}

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const METHOD = { store: 0, deflate: 8 } as const;
/** Coalesce small source chunks (COPY yields one per row) before hashing and deflating. */
const COALESCE_BYTES = 256 * 1024;

/**
 * A minimal streaming ZIP writer: local headers with data descriptors (sizes and CRC are
 * only known after streaming), ZIP64 records when sizes, offsets or counts need them.
 * Computes each entry's SHA-256 and CRC-32 over the uncompressed bytes and the SHA-256 of
 * the whole output while writing, so nothing is read twice.
 */
export class ZipWriter {
  private offset = 0;
  private readonly records: CentralRecord[] = [];
  private readonly names = new Set<string>();
  private readonly fileHash: Hash = createHash('sha256');
  private readonly dosTime: number;
  private readonly dosDate: number;
  private outError: Error | null = null;

  constructor(
    private readonly out: Writable,
    modified: Date = new Date(),
    private readonly onBytes?: (bytesWritten: number) => void,
  ) {
    out.on('error', (err) => {
      this.outError = err;
    });
    this.dosTime = (modified.getHours() << 11) | (modified.getMinutes() << 5) | (modified.getSeconds() >> 1);
    this.dosDate = (Math.max(0, modified.getFullYear() - 1980) << 9) | ((modified.getMonth() + 1) << 5) | modified.getDate();
  }

  get bytesWritten(): number {
    return this.offset;
  }

  get entryCount(): number {
    return this.records.length;
  }

  async addEntry(path: string, source: AsyncIterable<Buffer | string> | Buffer, options: ZipEntryOptions): Promise<ZipEntryResult> {
    const { name, method, offset } = await this.beginEntry(path, options.method);
    const dataStart = this.offset;
    const tap = options.tap;
    if (Buffer.isBuffer(source)) {
      // In-memory entries (the manifest, tests): no stream machinery needed.
      options.signal?.throwIfAborted();
      tap?.(source);
      await this.write(options.method === 'deflate' ? deflateRawSync(source, { level: options.level ?? 6 }) : source);
      const sha256 = createHash('sha256').update(source).digest('hex');
      return this.endEntry(path, name, method, offset, dataStart, crc32(source), source.length, sha256);
    }
    const measured = measure(tap);
    const sink = async (src: AsyncIterable<Buffer>): Promise<void> => {
      for await (const chunk of src) await this.write(chunk);
    };
    const signal = options.signal ?? new AbortController().signal;
    if (options.method === 'deflate') {
      const deflater = createDeflateRaw({ level: options.level ?? 6, chunkSize: 128 * 1024 });
      await pipeline(source, measured.transform, deflater, sink, { signal });
    } else {
      await pipeline(source, measured.transform, sink, { signal });
    }
    return this.endEntry(path, name, method, offset, dataStart, measured.crc(), measured.size(), measured.sha256());
  }

  /**
   * Appends an entry whose compressed bytes were produced earlier (see `prepareDeflated`),
   * copying them verbatim: lets text be compressed in the background while audio is written.
   */
  async addPreparedEntry(path: string, prepared: PreparedData, compressed: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<ZipEntryResult> {
    const { name, method, offset } = await this.beginEntry(path, prepared.method);
    const dataStart = this.offset;
    const sink = async (src: AsyncIterable<Buffer>): Promise<void> => {
      for await (const chunk of src) await this.write(chunk);
    };
    await pipeline(compressed, sink, { signal: signal ?? new AbortController().signal });
    if (this.offset - dataStart !== prepared.compressedSize) {
      throw new Error(`prepared entry ${path}: ${this.offset - dataStart} bytes copied, ${prepared.compressedSize} expected`);
    }
    return this.endEntry(path, name, method, offset, dataStart, prepared.crc32, prepared.size, prepared.sha256);
  }

  private async beginEntry(path: string, methodName: ZipMethod): Promise<{ name: Buffer; method: number; offset: number }> {
    assertEntryName(path);
    if (this.names.has(path)) throw new Error(`duplicate zip entry ${path}`);
    this.names.add(path);
    const name = Buffer.from(path, 'utf8');
    const method = METHOD[methodName];
    const offset = this.offset;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(this.dosTime, 10);
    local.writeUInt16LE(this.dosDate, 12);
    // crc, sizes: 0 here, real values in the data descriptor and central directory
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    await this.write(Buffer.concat([local, name]));
    return { name, method, offset };
  }

  private async endEntry(
    path: string,
    name: Buffer,
    method: number,
    offset: number,
    dataStart: number,
    crc: number,
    size: number,
    sha256: string,
  ): Promise<ZipEntryResult> {
    const compressedSize = this.offset - dataStart;

    const zip64 = size >= U32_MAX || compressedSize >= U32_MAX;
    const desc = Buffer.alloc(zip64 ? 24 : 16);
    desc.writeUInt32LE(0x08074b50, 0);
    desc.writeUInt32LE(crc >>> 0, 4);
    if (zip64) {
      desc.writeBigUInt64LE(BigInt(compressedSize), 8);
      desc.writeBigUInt64LE(BigInt(size), 16);
    } else {
      desc.writeUInt32LE(compressedSize, 8);
      desc.writeUInt32LE(size, 12);
    }
    await this.write(desc);
    this.records.push({ name, method, crc: crc >>> 0, size, compressedSize, offset });
    return { path, size, compressedSize, crc32: crc >>> 0, sha256 };
  }

  /** Writes the central directory, ends the output and waits until it is flushed. */
  async finish(): Promise<{ size: number; sha256: string }> {
    const cdStart = this.offset;
    for (const r of this.records) {
      const extra: Buffer[] = [];
      if (r.size >= U32_MAX) extra.push(u64(r.size));
      if (r.compressedSize >= U32_MAX) extra.push(u64(r.compressedSize));
      if (r.offset >= U32_MAX) extra.push(u64(r.offset));
      let extraField = Buffer.alloc(0);
      if (extra.length) {
        const body = Buffer.concat(extra);
        const head = Buffer.alloc(4);
        head.writeUInt16LE(0x0001, 0);
        head.writeUInt16LE(body.length, 2);
        extraField = Buffer.concat([head, body]);
      }
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE((3 << 8) | 45, 4); // made by: Unix, 4.5
      h.writeUInt16LE(extra.length ? 45 : 20, 6);
      h.writeUInt16LE(FLAG_DATA_DESCRIPTOR | FLAG_UTF8, 8);
      h.writeUInt16LE(r.method, 10);
      h.writeUInt16LE(this.dosTime, 12);
      h.writeUInt16LE(this.dosDate, 14);
      h.writeUInt32LE(r.crc, 16);
      h.writeUInt32LE(Math.min(r.compressedSize, U32_MAX), 20);
      h.writeUInt32LE(Math.min(r.size, U32_MAX), 24);
      h.writeUInt16LE(r.name.length, 28);
      h.writeUInt16LE(extraField.length, 30);
      h.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
      h.writeUInt32LE(Math.min(r.offset, U32_MAX), 42);
      await this.write(Buffer.concat([h, r.name, extraField]));
    }
    const cdSize = this.offset - cdStart;
    const count = this.records.length;
    if (count >= U16_MAX || cdStart >= U32_MAX || cdSize >= U32_MAX) {
      const eocd64Offset = this.offset;
      const rec = Buffer.alloc(56);
      rec.writeUInt32LE(0x06064b50, 0);
      rec.writeBigUInt64LE(44n, 4);
      rec.writeUInt16LE((3 << 8) | 45, 12);
      rec.writeUInt16LE(45, 14);
      rec.writeBigUInt64LE(BigInt(count), 24);
      rec.writeBigUInt64LE(BigInt(count), 32);
      rec.writeBigUInt64LE(BigInt(cdSize), 40);
      rec.writeBigUInt64LE(BigInt(cdStart), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(eocd64Offset), 8);
      locator.writeUInt32LE(1, 16);
      await this.write(Buffer.concat([rec, locator]));
    }
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(Math.min(count, U16_MAX), 8);
    eocd.writeUInt16LE(Math.min(count, U16_MAX), 10);
    eocd.writeUInt32LE(Math.min(cdSize, U32_MAX), 12);
    eocd.writeUInt32LE(Math.min(cdStart, U32_MAX), 16);
    await this.write(eocd);
    const finished = once(this.out, 'finish');
    this.out.end();
    await finished;
    if (this.outError) throw this.outError;
    return { size: this.offset, sha256: this.fileHash.digest('hex') };
  }

  private async write(buf: Buffer): Promise<void> {
    if (this.outError) throw this.outError;
    this.fileHash.update(buf);
    this.offset += buf.length;
    if (!this.out.write(buf)) await once(this.out, 'drain');
    this.onBytes?.(this.offset);
  }
}

/** CRC-32, SHA-256 and size of the uncompressed bytes, as a pipeline stage. */
function measure(tap?: (chunk: Buffer) => void) {
  let crc = 0;
  let size = 0;
  const hash = createHash('sha256');
  let digest: string | undefined;
  return {
    transform: async function* (src: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
      for await (const chunk of coalesce(src)) {
        crc = crc32(chunk, crc);
        hash.update(chunk);
        size += chunk.length;
        tap?.(chunk);
        yield chunk;
      }
    },
    crc: () => crc >>> 0,
    size: () => size,
    sha256: () => (digest ??= hash.digest('hex')),
  };
}

/** An entry compressed ahead of time, waiting in a spool file. */
export interface PreparedData {
  method: ZipMethod;
  crc32: number;
  size: number;
  compressedSize: number;
  sha256: string;
}

/** Deflates a stream into `spoolPath`, measuring it as addEntry would. */
export async function prepareDeflated(
  source: AsyncIterable<Buffer | string>,
  spoolPath: string,
  options: { level?: number; tap?: (chunk: Buffer) => void; signal?: AbortSignal } = {},
): Promise<PreparedData> {
  const measured = measure(options.tap);
  const out = createWriteStream(spoolPath, { highWaterMark: 1024 * 1024 });
  await pipeline(source, measured.transform, createDeflateRaw({ level: options.level ?? 6, chunkSize: 128 * 1024 }), out, {
    signal: options.signal ?? new AbortController().signal,
  });
  return { method: 'deflate', crc32: measured.crc(), size: measured.size(), compressedSize: out.bytesWritten, sha256: measured.sha256() };
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** Entry names are relative, forward-slashed and never climb out of the extraction dir. */
export function assertEntryName(path: string): void {
  if (!path || path.startsWith('/') || path.includes('\\') || path.includes('\0') || path.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`invalid zip entry name ${JSON.stringify(path)}`);
  }
}

async function* coalesce(src: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let bytes = 0;
  for await (const raw of src) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (chunk.length >= COALESCE_BYTES && bytes === 0) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    bytes += chunk.length;
    if (bytes >= COALESCE_BYTES) {
      yield parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes);
      parts = [];
      bytes = 0;
    }
  }
  if (bytes > 0) yield parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes);
}

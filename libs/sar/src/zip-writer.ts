import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
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

export interface ZipWriterOptions {
  /** Modification time of every entry (default now). */
  modified?: Date;
  /** Called after every write with the output size so far. */
  onBytes?: (bytesWritten: number) => void;
  /**
   * Test only: sizes and offsets from this value on use ZIP64 (default 0xffffffff, APPNOTE's
   * limit), so every ZIP64 record can be checked without writing 4 GiB.
   */
  zip64From?: number;
  /** Where the archive's bytes go instead of a file of the writer's own (see ArchiveSink). */
  sink?: ArchiveSink;
}

/**
 * Takes the archive's bytes, in order and once, instead of the writer's own file: the packer's
 * age encryption into the `.sar.age` (libs/encryption AgeFileWriter), so the plain archive is
 * never on disk. The writer then never goes back in its output (see ZipWriter); size and
 * SHA-256 are the sink's, of what it wrote.
 */
export interface ArchiveSink {
  /** Resolves when the sink can take more (it copies or consumes `chunk` before then). */
  write(chunk: Buffer): Promise<void>;
  /** After the last byte: the size and SHA-256 of the file the sink wrote. */
  finish(): Promise<{ size: number; sha256: string }>;
  /** Stops after a failure (the caller removes the file). */
  abort(): Promise<void>;
}

/** What a local header and a central directory record say about an entry's data. */
interface EntrySizes {
  crc: number;
  size: number;
  compressedSize: number;
}

interface CentralRecord extends EntrySizes {
  name: Buffer;
  method: number;
  offset: number;
}

interface DosTime {
  time: number;
  date: number;
}

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const FLAG_UTF8 = 0x0800;
const METHOD = { store: 0, deflate: 8 } as const;
const LOCAL_HEADER_BYTES = 30;
/** A local ZIP64 field (APPNOTE 4.5.3: both sizes in a local header) and the placeholder that reserves its room. */
const LOCAL_ZIP64_EXTRA_BYTES = 20;
/**
 * The placeholder's ID: Apache Commons Compress' alignment padding (alignment 1, i.e. none).
 * Readers skip extra fields they do not know (APPNOTE 4.5.1), so it only reserves room.
 */
const PADDING_EXTRA_ID = 0xa11e;
/** Coalesce small source chunks (COPY yields one per row) before hashing and deflating. */
const COALESCE_BYTES = 256 * 1024;
/**
 * The whole-file SHA-256 reaches a streamed entry only once its header is complete; up to this
 * many of its bytes wait in memory (every CSV and audio file of a normal PBX), a longer entry
 * is read back from the output instead.
 */
const HASH_HOLD_BYTES = 8 * 1024 * 1024;
/** Output queued behind the write in progress before the writer waits (a write stream's highWaterMark). */
const WRITE_QUEUE_BYTES = 4 * 1024 * 1024;
const READ_BACK_BYTES = 1024 * 1024;

/**
 * A minimal ZIP writer into a file. Every local header carries the entry's CRC-32 and sizes, so
 * readers that stream (Java's ZipInputStream, libarchive from a pipe) never meet a data
 * descriptor: a streamed entry's header is completed in place once its data is written, and
 * reserves room for the ZIP64 field it needs if it reaches 4 GiB. ZIP64 records appear only
 * where sizes, offsets or counts need them. Computes each entry's SHA-256 and CRC-32 over the
 * uncompressed bytes and the SHA-256 of the whole output while writing; memory stays bounded.
 *
 * Into a sink (ArchiveSink) the output only grows: a streamed entry's bytes, its incomplete
 * header first, wait until the header is complete — in memory up to HASH_HOLD_BYTES, the rest
 * of a longer entry in a spool file beside the output — and then go to the sink.
 */
export class ZipWriter {
  private offset = 0;
  private readonly records: CentralRecord[] = [];
  private readonly names = new Set<string>();
  private readonly fileHash: Hash = createHash('sha256');
  /** Bytes after an incomplete header (its own included), not yet in fileHash. */
  private held: { chunks: Buffer[]; bytes: number; overflowed: boolean; spill?: FileHandle; spilled?: number } | null = null;

  private readonly time: DosTime;
  private readonly zip64From: number;
  private readonly onBytes?: (bytesWritten: number) => void;

  private readonly sink?: ArchiveSink;
  private readonly spillPath: string;

  private constructor(
    /** The writer's own file; null with a sink. */
    private readonly file: FileOutput | null,
    path: string,
    options: ZipWriterOptions,
  ) {
    this.sink = options.sink;
    this.spillPath = `${path}.entry-spool`;
    this.time = dosTime(options.modified ?? new Date());
    this.zip64From = Math.min(options.zip64From ?? U32_MAX, U32_MAX);
    this.onBytes = options.onBytes;
  }

  /** Creates (or truncates) the file at `path`. */
  static async create(path: string, options: ZipWriterOptions = {}): Promise<ZipWriter> {
    return new ZipWriter(options.sink ? null : await FileOutput.open(path), path, options);
  }

  /** APPNOTE 4.4.8: a size or offset of 0xffffffff or more lives in a ZIP64 field. */
  private needsZip64(n: number): boolean {
    return n >= this.zip64From;
  }

  /** A 4-byte field: the value, or 0xffffffff when a ZIP64 field holds it. */
  private field32(n: number): number {
    return this.needsZip64(n) ? U32_MAX : n;
  }

  get bytesWritten(): number {
    return this.offset;
  }

  get entryCount(): number {
    return this.records.length;
  }

  async addEntry(path: string, source: AsyncIterable<Buffer | string> | Buffer, options: ZipEntryOptions): Promise<ZipEntryResult> {
    const name = this.claim(path);
    const method = METHOD[options.method];
    const offset = this.offset;
    const tap = options.tap;
    if (Buffer.isBuffer(source)) {
      // In-memory entries (the manifest, tests): everything is known before the header.
      options.signal?.throwIfAborted();
      tap?.(source);
      const data = options.method === 'deflate' ? deflateRawSync(source, { level: options.level ?? 6 }) : source;
      const sizes = { crc: crc32(source) >>> 0, size: source.length, compressedSize: data.length };
      await this.write(this.localHeader(name, method, sizes, false));
      await this.write(data);
      return this.record(path, name, method, offset, sizes, createHash('sha256').update(source).digest('hex'));
    }
    const header = this.localHeader(name, method, null, true);
    this.held = { chunks: [], bytes: 0, overflowed: false };
    await this.write(header);
    const dataStart = this.offset;
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
    const sizes = { crc: measured.crc(), size: measured.size(), compressedSize: this.offset - dataStart };
    await this.completeHeader(header, offset, dataStart, this.localHeader(name, method, sizes, true));
    return this.record(path, name, method, offset, sizes, measured.sha256());
  }

  /**
   * Appends an entry whose compressed bytes were produced earlier (see `prepareDeflated`),
   * copying them verbatim: lets text be compressed in the background while audio is written.
   */
  async addPreparedEntry(path: string, prepared: PreparedData, compressed: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<ZipEntryResult> {
    const name = this.claim(path);
    const method = METHOD[prepared.method];
    const offset = this.offset;
    const sizes = { crc: prepared.crc32, size: prepared.size, compressedSize: prepared.compressedSize };
    await this.write(this.localHeader(name, method, sizes, false));
    const dataStart = this.offset;
    const sink = async (src: AsyncIterable<Buffer>): Promise<void> => {
      for await (const chunk of src) await this.write(chunk);
    };
    await pipeline(compressed, sink, { signal: signal ?? new AbortController().signal });
    if (this.offset - dataStart !== prepared.compressedSize) {
      throw new Error(`prepared entry ${path}: ${this.offset - dataStart} bytes copied, ${prepared.compressedSize} expected`);
    }
    return this.record(path, name, method, offset, sizes, prepared.sha256);
  }

  private claim(path: string): Buffer {
    assertEntryName(path);
    if (this.names.has(path)) throw new Error(`duplicate zip entry ${path}`);
    this.names.add(path);
    return Buffer.from(path, 'utf8');
  }

  /**
   * Puts the complete header over the incomplete one (the same length: the placeholder is as
   * long as the ZIP64 field), in the file and in the whole-file hash.
   */
  private async completeHeader(header: Buffer, offset: number, dataStart: number, complete: Buffer): Promise<void> {
    complete.copy(header);
    const held = this.held;
    this.held = null;
    if (this.sink) {
      for (const chunk of held?.chunks ?? []) await this.sink.write(chunk); // the first is `header` itself
      if (held?.spill) {
        await held.spill.close();
        for await (const chunk of createReadStream(this.spillPath, { highWaterMark: READ_BACK_BYTES })) await this.sink.write(chunk as Buffer);
        await rm(this.spillPath, { force: true });
      }
      return;
    }
    if (held && !held.overflowed) {
      for (const chunk of held.chunks) this.fileHash.update(chunk); // the first is `header` itself
    } else {
      this.fileHash.update(header);
      await this.output.readBack(this.fileHash, dataStart, this.offset);
    }
    await this.output.rewrite(header, offset);
  }

  private record(path: string, name: Buffer, method: number, offset: number, sizes: EntrySizes, sha256: string): ZipEntryResult {
    this.records.push({ name, method, offset, ...sizes });
    return { path, size: sizes.size, compressedSize: sizes.compressedSize, crc32: sizes.crc, sha256 };
  }

  /** Writes the central directory and closes the file. */
  async finish(): Promise<{ size: number; sha256: string }> {
    const cdStart = this.offset;
    for (const r of this.records) {
      const extra: Buffer[] = [];
      if (this.needsZip64(r.size)) extra.push(u64(r.size));
      if (this.needsZip64(r.compressedSize)) extra.push(u64(r.compressedSize));
      if (this.needsZip64(r.offset)) extra.push(u64(r.offset));
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
      h.writeUInt16LE(FLAG_UTF8, 8);
      h.writeUInt16LE(r.method, 10);
      h.writeUInt16LE(this.time.time, 12);
      h.writeUInt16LE(this.time.date, 14);
      h.writeUInt32LE(r.crc, 16);
      h.writeUInt32LE(this.field32(r.compressedSize), 20);
      h.writeUInt32LE(this.field32(r.size), 24);
      h.writeUInt16LE(r.name.length, 28);
      h.writeUInt16LE(extraField.length, 30);
      h.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
      h.writeUInt32LE(this.field32(r.offset), 42);
      await this.write(Buffer.concat([h, r.name, extraField]));
    }
    const cdSize = this.offset - cdStart;
    const count = this.records.length;
    if (count >= U16_MAX || this.needsZip64(cdStart) || this.needsZip64(cdSize)) {
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
    eocd.writeUInt32LE(this.field32(cdSize), 12);
    eocd.writeUInt32LE(this.field32(cdStart), 16);
    await this.write(eocd);
    if (this.sink) return this.sink.finish();
    await this.output.close();
    return { size: this.offset, sha256: this.fileHash.digest('hex') };
  }

  /** Stops writing and closes the file (after a failure, which is what the caller reports; it removes the file). */
  async abort(): Promise<void> {
    await (this.sink ? this.sink.abort() : this.output.abandon()).catch(() => undefined);
    await this.held?.spill?.close().catch(() => undefined);
    await rm(this.spillPath, { force: true });
  }

  /**
   * A local file header. `sizes` null: not known yet (zeros, completed in place later). `reserve`:
   * always 20 bytes of extra field, the ZIP64 field if the sizes need it, else the placeholder.
   */
  private localHeader(name: Buffer, method: number, sizes: EntrySizes | null, reserve: boolean): Buffer {
    const zip64 = sizes !== null && (this.needsZip64(sizes.size) || this.needsZip64(sizes.compressedSize));
    const extraBytes = zip64 || reserve ? LOCAL_ZIP64_EXTRA_BYTES : 0;
    const h = Buffer.alloc(LOCAL_HEADER_BYTES + name.length + extraBytes);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(zip64 ? 45 : 20, 4); // version needed: 4.5 for ZIP64, else 2.0
    h.writeUInt16LE(FLAG_UTF8, 6);
    h.writeUInt16LE(method, 8);
    h.writeUInt16LE(this.time.time, 10);
    h.writeUInt16LE(this.time.date, 12);
    if (sizes) {
      h.writeUInt32LE(sizes.crc >>> 0, 14);
      h.writeUInt32LE(zip64 ? U32_MAX : sizes.compressedSize, 18);
      h.writeUInt32LE(zip64 ? U32_MAX : sizes.size, 22);
    }
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(extraBytes, 28);
    name.copy(h, LOCAL_HEADER_BYTES);
    const extra = LOCAL_HEADER_BYTES + name.length;
    if (zip64 && sizes) {
      h.writeUInt16LE(0x0001, extra);
      h.writeUInt16LE(16, extra + 2);
      h.writeBigUInt64LE(BigInt(sizes.size), extra + 4);
      h.writeBigUInt64LE(BigInt(sizes.compressedSize), extra + 12);
    } else if (reserve) {
      h.writeUInt16LE(PADDING_EXTRA_ID, extra);
      h.writeUInt16LE(16, extra + 2);
      h.writeUInt16LE(1, extra + 4);
    }
    return h;
  }

  private async write(buf: Buffer): Promise<void> {
    if (this.sink) {
      this.offset += buf.length;
      await this.holdOrEmit(buf);
      this.onBytes?.(this.offset);
      return;
    }
    const held = this.held;
    if (!held) this.fileHash.update(buf);
    else if (!held.overflowed && held.bytes + buf.length <= HASH_HOLD_BYTES) {
      held.chunks.push(buf);
      held.bytes += buf.length;
    } else {
      held.overflowed = true;
      held.chunks = [];
    }
    this.offset += buf.length;
    await this.output.write(buf);
    this.onBytes?.(this.offset);
  }

  /** Into a sink: a streamed entry's bytes wait for its complete header; anything else goes out. */
  private async holdOrEmit(buf: Buffer): Promise<void> {
    const held = this.held;
    if (!held) return this.sink!.write(buf);
    if (!held.spill && held.bytes + buf.length <= HASH_HOLD_BYTES) {
      held.chunks.push(buf);
      held.bytes += buf.length;
      return;
    }
    held.spill ??= await open(this.spillPath, 'w');
    const at = held.spilled ?? 0;
    await writeFully(held.spill, [buf], at, buf.length);
    held.spilled = at + buf.length;
  }

  /** The writer's own file (without a sink). */
  private get output(): FileOutput {
    if (!this.file) throw new Error('ZipWriter: no file of its own with a sink');
    return this.file;
  }
}

function dosTime(modified: Date): DosTime {
  return {
    time: (modified.getHours() << 11) | (modified.getMinutes() << 5) | (modified.getSeconds() >> 1),
    date: (Math.max(0, modified.getFullYear() - 1980) << 9) | ((modified.getMonth() + 1) << 5) | modified.getDate(),
  };
}

/**
 * Appends to a file as a write stream does, writing each chunk at once (while it is still in the
 * CPU cache) and whatever queued meanwhile in one call when the last write completes; and
 * rewrites bytes appended earlier (a completed header) in place.
 */
class FileOutput {
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** Bytes handed to the file so far (written or being written); the queued ones follow. */
  private issued = 0;
  private writing = false;
  private inflight: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;

  private constructor(private readonly fh: FileHandle) {}

  static async open(path: string): Promise<FileOutput> {
    return new FileOutput(await open(path, 'w+')); // + : a long entry is read back for the file hash
  }

  async write(buf: Buffer): Promise<void> {
    this.throwIfFailed();
    this.queued.push(buf);
    this.queuedBytes += buf.length;
    if (!this.writing) this.issue();
    while (this.writing && this.queuedBytes >= WRITE_QUEUE_BYTES) await this.inflight;
  }

  /** `buf`, appended at `at`, has changed since: make the file hold its new bytes. */
  async rewrite(buf: Buffer, at: number): Promise<void> {
    if (at >= this.issued) return; // still queued: the queue holds `buf` itself
    await this.inflight; // the write that covered `at` (later ones do not overlap it)
    this.throwIfFailed();
    await writeFully(this.fh, [buf], at, buf.length);
  }

  /** Feeds bytes [from, to) of the file to `hash`, reading the next megabyte while hashing one. */
  async readBack(hash: Hash, from: number, to: number): Promise<void> {
    await this.flush();
    const buffers = [Buffer.allocUnsafe(READ_BACK_BYTES), Buffer.allocUnsafe(READ_BACK_BYTES)];
    let turn = 0;
    let pos = from;
    const readNext = () => (pos < to ? readExactly(this.fh, buffers[turn++ % 2], pos, Math.min(READ_BACK_BYTES, to - pos)) : null);
    let next = readNext();
    while (next) {
      const chunk = await next;
      pos += chunk.length;
      next = readNext();
      hash.update(chunk);
    }
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.abandon();
    }
  }

  async abandon(): Promise<void> {
    while (this.writing) await this.inflight;
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private async flush(): Promise<void> {
    while (!this.failure && (this.writing || this.queuedBytes)) {
      if (!this.writing) this.issue();
      await this.inflight;
    }
    this.throwIfFailed();
  }

  private issue(): void {
    const batch = this.queued;
    const at = this.issued;
    const bytes = this.queuedBytes;
    this.queued = [];
    this.queuedBytes = 0;
    this.issued += bytes;
    this.writing = true;
    this.inflight = writeFully(this.fh, batch, at, bytes).then(
      () => {
        this.writing = false;
        if (this.queuedBytes) this.issue();
      },
      (err: unknown) => {
        this.writing = false;
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

async function writeFully(fh: FileHandle, buffers: Buffer[], at: number, bytes: number): Promise<void> {
  let done = (await fh.writev(buffers, at)).bytesWritten;
  // libuv reports a short count when a write after the first fails (e.g. ENOSPC): writing the rest throws it.
  while (done < bytes) {
    const rest = Buffer.concat(buffers).subarray(done);
    const n = (await fh.write(rest, 0, rest.length, at + done)).bytesWritten;
    if (n === 0) throw new Error(`short write at offset ${at + done}`);
    done += n;
  }
}

async function readExactly(fh: FileHandle, buf: Buffer, at: number, length: number): Promise<Buffer> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, at + done);
    if (bytesRead === 0) throw new Error(`output ends before offset ${at + length}`);
    done += bytesRead;
  }
  return buf.subarray(0, length);
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

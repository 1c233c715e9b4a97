import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable, Transform } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { SAR_FORMAT, SAR_FORMAT_VERSION, SAR_MANIFEST_PATH, sarManifestSchema, type SarManifest } from './sar-manifest';

export interface SarEntryInfo {
  path: string;
  size: number;
  compressedSize: number;
  method: 'store' | 'deflate' | 'other';
}

export type SarVerifyResult = { ok: true; manifest: SarManifest } | { ok: false; badEntry: string; reason: string };

/** badEntry used when the container itself (not one entry) is broken. */
export const SAR_CONTAINER = '(archive)';
const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (err, zip) =>
      err || !zip ? reject(err ?? new Error('cannot open zip')) : resolve(zip),
    );
  });
}

/** Reads the whole central directory (one small record per entry; never entry data). */
function readEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (e: Entry) => {
      entries.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** Bytes per read of an entry's data: yauzl reads 16 KiB at a time, a third of the speed (verify, restore). */
const ENTRY_READ_BYTES = 1024 * 1024;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;

/**
 * A stream of one entry's uncompressed bytes, read from `path` in 1 MiB pieces (the central
 * directory comes from yauzl; the data is read here). Stored entries are read as they are,
 * deflated ones inflated; a deflated entry that inflates to more than its recorded size fails
 * (a manifest cannot blow up memory). Callers check the size and SHA-256 against the manifest.
 */
async function openEntryStream(path: string, entry: Entry): Promise<Readable> {
  // One open file per entry: its local header is read through it, then its data is streamed
  // from it (the stream closes it; a handle shared by several streams would be closed by the
  // first one destroyed early, whatever autoClose says).
  const fh = await open(path, 'r');
  let start: number;
  try {
    start = await entryDataStart(fh, entry);
  } catch (err) {
    await fh.close();
    throw err;
  }
  const raw = async (): Promise<Readable> => {
    if (entry.compressedSize > 0) return fh.createReadStream({ start, end: start + entry.compressedSize - 1, highWaterMark: ENTRY_READ_BYTES });
    await fh.close();
    return Readable.from([]);
  };
  if (entry.compressionMethod === 0) return raw();
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      cb(size > entry.uncompressedSize ? new Error(`inflates to more than its recorded ${entry.uncompressedSize} bytes`) : null, chunk);
    },
  });
  return pipeline(await raw(), createInflateRaw({ chunkSize: 128 * 1024 }), limit, () => undefined);
}

/** Where an entry's data starts (after its local header), once the header is checked; throws what makes the entry unreadable. */
async function entryDataStart(fh: FileHandle, entry: Entry): Promise<number> {
  const header = Buffer.alloc(30);
  const { bytesRead } = await fh.read(header, 0, header.length, entry.relativeOffsetOfLocalHeader);
  if (bytesRead < header.length) throw new Error('unexpected end of file in a local file header');
  const signature = header.readUInt32LE(0);
  if (signature !== LOCAL_HEADER_SIGNATURE) throw new Error(`invalid local file header signature: 0x${signature.toString(16)}`);
  if (entry.generalPurposeBitFlag & 0x1) throw new Error('encrypted entries are not supported');
  if (entry.compressionMethod === 0 && entry.compressedSize !== entry.uncompressedSize) {
    throw new Error(`stored entry sizes differ (${entry.compressedSize} != ${entry.uncompressedSize})`);
  }
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) throw new Error(`unsupported compression method ${entry.compressionMethod}`);
  return entry.relativeOffsetOfLocalHeader + header.length + header.readUInt16LE(26) + header.readUInt16LE(28);
}

async function readManifest(path: string, entries: Entry[]): Promise<SarManifest> {
  const entry = entries.find((e) => e.fileName === SAR_MANIFEST_PATH);
  if (!entry) throw new Error(`${SAR_MANIFEST_PATH} is missing`);
  if (entry.uncompressedSize > MAX_MANIFEST_BYTES) throw new Error(`${SAR_MANIFEST_PATH} is implausibly large`);
  const parts: Buffer[] = [];
  for await (const chunk of await openEntryStream(path, entry)) parts.push(chunk as Buffer);
  const json: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
  const head = json as { format?: unknown; formatVersion?: unknown };
  if (head?.format !== SAR_FORMAT) throw new Error(`not a .sar manifest (format ${JSON.stringify(head?.format)})`);
  if (head.formatVersion !== SAR_FORMAT_VERSION) throw new Error(`unsupported .sar formatVersion ${JSON.stringify(head.formatVersion)}`);
  return sarManifestSchema.parse(json);
}

function methodName(entry: Entry): SarEntryInfo['method'] {
  return entry.compressionMethod === 0 ? 'store' : entry.compressionMethod === 8 ? 'deflate' : 'other';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The manifest and the central directory listing (no verification of contents). */
export async function listSar(path: string): Promise<{ manifest: SarManifest; entries: SarEntryInfo[] }> {
  const zip = await openZip(path);
  try {
    const entries = await readEntries(zip);
    const manifest = await readManifest(path, entries);
    return {
      manifest,
      entries: entries.map((e) => ({ path: e.fileName, size: e.uncompressedSize, compressedSize: e.compressedSize, method: methodName(e) })),
    };
  } finally {
    zip.close();
  }
}

/** A stream of one entry's uncompressed bytes; the zip is closed when the stream ends or is destroyed. */
export async function openSarEntry(path: string, entryPath: string): Promise<Readable> {
  const zip = await openZip(path);
  try {
    const entry = (await readEntries(zip)).find((e) => e.fileName === entryPath);
    if (!entry) throw new Error(`entry ${entryPath} not found in ${path}`);
    const stream = await openEntryStream(path, entry);
    stream.once('close', () => zip.close());
    return stream;
  } catch (err) {
    zip.close();
    throw err;
  }
}

/** An open .sar: the central directory read once, entries opened by path (restores read many). */
export interface SarArchive {
  /** As written in the archive; not verified (verifySar does that). */
  readonly manifest: SarManifest;
  readonly entries: SarEntryInfo[];
  /** A stream of one entry's uncompressed bytes; several may be open at once. */
  openEntry(entryPath: string): Promise<Readable>;
  close(): void;
}

export async function openSarArchive(path: string): Promise<SarArchive> {
  const zip = await openZip(path);
  try {
    const entries = await readEntries(zip);
    const manifest = await readManifest(path, entries);
    const byPath = new Map(entries.map((e) => [e.fileName, e]));
    return {
      manifest,
      entries: entries.map((e) => ({ path: e.fileName, size: e.uncompressedSize, compressedSize: e.compressedSize, method: methodName(e) })),
      openEntry: async (entryPath) => {
        const entry = byPath.get(entryPath);
        if (!entry) throw new Error(`entry ${entryPath} not found in ${path}`);
        return openEntryStream(path, entry);
      },
      close: () => zip.close(),
    };
  } catch (err) {
    zip.close();
    throw err;
  }
}

export interface VerifySarOptions {
  /** Uncompressed bytes checked so far (every 16 MiB and at the end). */
  onProgress?: (bytesChecked: number) => void;
  signal?: AbortSignal;
}

const VERIFY_PROGRESS_EVERY_BYTES = 16 * 1024 * 1024;

/**
 * Checks a .sar against its manifest: in zip order, every entry must be listed and match
 * its size and SHA-256; then every listed entry must exist. Reports the first bad one.
 */
export async function verifySar(path: string, options: VerifySarOptions = {}): Promise<SarVerifyResult> {
  let checked = 0;
  let reported = 0;
  const progress = (bytes: number) => {
    checked += bytes;
    if (options.onProgress && checked - reported >= VERIFY_PROGRESS_EVERY_BYTES) {
      reported = checked;
      options.onProgress(checked);
    }
  };
  let zip: ZipFile;
  let entries: Entry[];
  try {
    zip = await openZip(path);
  } catch (err) {
    return { ok: false, badEntry: SAR_CONTAINER, reason: `unreadable zip: ${message(err)}` };
  }
  try {
    try {
      entries = await readEntries(zip);
    } catch (err) {
      return { ok: false, badEntry: SAR_CONTAINER, reason: `unreadable zip: ${message(err)}` };
    }
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.fileName)) return { ok: false, badEntry: e.fileName, reason: 'duplicate entry' };
      seen.add(e.fileName);
    }
    let manifest: SarManifest;
    try {
      manifest = await readManifest(path, entries);
    } catch (err) {
      return { ok: false, badEntry: SAR_MANIFEST_PATH, reason: `invalid manifest: ${message(err)}` };
    }
    const expected = new Map(manifest.entries.map((m) => [m.path, m]));
    for (const entry of entries) {
      if (entry.fileName === SAR_MANIFEST_PATH) continue;
      const want = expected.get(entry.fileName);
      if (!want) return { ok: false, badEntry: entry.fileName, reason: 'entry not listed in the manifest' };
      const hash = createHash('sha256');
      let size = 0;
      try {
        options.signal?.throwIfAborted();
        for await (const chunk of await openEntryStream(path, entry)) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
          progress((chunk as Buffer).length);
        }
      } catch (err) {
        if (options.signal?.aborted) throw err;
        return { ok: false, badEntry: entry.fileName, reason: `unreadable entry: ${message(err)}` };
      }
      if (size !== want.size) return { ok: false, badEntry: entry.fileName, reason: `size ${size} != manifest ${want.size}` };
      const digest = hash.digest('hex');
      if (digest !== want.sha256) return { ok: false, badEntry: entry.fileName, reason: `sha256 ${digest} != manifest ${want.sha256}` };
      expected.delete(entry.fileName);
    }
    const missing = expected.keys().next();
    if (!missing.done) return { ok: false, badEntry: missing.value, reason: 'listed in the manifest but missing from the archive' };
    options.onProgress?.(checked);
    return { ok: true, manifest };
  } finally {
    zip.close();
  }
}

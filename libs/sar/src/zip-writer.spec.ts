import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import yauzl, { type Entry } from 'yauzl';
import { assertEntryName, ZipWriter, type ArchiveSink } from './zip-writer';

interface LocalEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  size: number;
  extraIds: number[];
  /** Uncompressed. */
  content: Buffer;
}

/**
 * Walks a zip as a streaming reader does (Java's ZipInputStream, libarchive from a pipe): local
 * headers only, each one's compressed size saying where the next entry begins.
 */
function walkLocalHeaders(file: Buffer): LocalEntry[] {
  const entries: LocalEntry[] = [];
  let p = 0;
  while (file.readUInt32LE(p) === 0x04034b50) {
    let compressedSize = file.readUInt32LE(p + 18);
    let size = file.readUInt32LE(p + 22);
    const nameEnd = p + 30 + file.readUInt16LE(p + 26);
    const dataStart = nameEnd + file.readUInt16LE(p + 28);
    const extraIds: number[] = [];
    for (let x = nameEnd; x < dataStart; x += 4 + file.readUInt16LE(x + 2)) {
      extraIds.push(file.readUInt16LE(x));
      if (file.readUInt16LE(x) === 0x0001) {
        size = Number(file.readBigUInt64LE(x + 4));
        compressedSize = Number(file.readBigUInt64LE(x + 12));
      }
    }
    const data = file.subarray(dataStart, dataStart + compressedSize);
    const method = file.readUInt16LE(p + 8);
    entries.push({
      name: file.toString('utf8', p + 30, nameEnd),
      flags: file.readUInt16LE(p + 6),
      method,
      crc: file.readUInt32LE(p + 14),
      size,
      extraIds,
      content: method === 8 ? inflateRawSync(data) : data,
    });
    p = dataStart + compressedSize;
  }
  expect(file.readUInt32LE(p)).toBe(0x02014b50); // the central directory follows the last entry
  return entries;
}

/** Every entry found by its local header alone, without a data descriptor, its CRC and size right. */
function expectCompleteLocalHeaders(file: Buffer, names: string[]): LocalEntry[] {
  const local = walkLocalHeaders(file);
  expect(local.map((e) => e.name)).toEqual(names);
  for (const e of local) {
    expect({ name: e.name, descriptor: (e.flags & 0x0008) !== 0, crc: e.crc, size: e.size }).toEqual({
      name: e.name,
      descriptor: false,
      crc: crc32(e.content),
      size: e.content.length,
    });
  }
  return local;
}

async function readAll(path: string): Promise<Map<string, { method: number; data: Buffer }>> {
  const result = new Map<string, { method: number; data: Buffer }>();
  await new Promise<void>((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      zip.on('entry', (e: Entry) => {
        zip.openReadStream(e, (err2, stream) => {
          if (err2 || !stream) return reject(err2);
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c));
          stream.on('end', () => {
            result.set(e.fileName, { method: e.compressionMethod, data: Buffer.concat(parts) });
            zip.readEntry();
          });
          stream.on('error', reject);
        });
      });
      zip.on('end', () => resolve());
      zip.on('error', reject);
      zip.readEntry();
    });
  });
  return result;
}

describe('ZipWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'zipw-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes stored and deflated entries that a standard reader returns byte for byte, with correct hashes', async () => {
    const path = join(dir, 'a.zip');
    const zip = await ZipWriter.create(path);
    const text = Buffer.from('id,name\n'.repeat(1) + Array.from({ length: 5000 }, (_, i) => `${i},Müller ${i}\n`).join(''));
    const binary = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff));
    // Many tiny chunks, as COPY delivers them.
    const r1 = await zip.addEntry('core/users.csv', Readable.from(text.toString().split('\n').map((l) => Buffer.from(`${l}\n`)).slice(0, -1)), {
      method: 'deflate',
    });
    const r2 = await zip.addEntry('voicemail/1000/vm.wav', Readable.from([binary.subarray(0, 1000), binary.subarray(1000)]), { method: 'store' });
    const r3 = await zip.addEntry('empty.txt', Buffer.alloc(0), { method: 'deflate' });
    // Longer than the whole-file hash holds back and than a write batch: its header is rewritten in the file.
    const long = randomBytes(20 * 1024 * 1024 + 17);
    const r4 = await zip.addEntry('announcements/long.wav', Readable.from(Array.from({ length: 21 }, (_, i) => long.subarray(i << 20, (i + 1) << 20))), {
      method: 'store',
    });
    const done = await zip.finish();

    const file = await readFile(path);
    expect(done.size).toBe(file.length);
    expect(done.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(r1).toMatchObject({ size: text.length, sha256: createHash('sha256').update(text).digest('hex') });
    expect(r1.compressedSize).toBeLessThan(text.length / 2);
    expect(r2).toMatchObject({ size: binary.length, compressedSize: binary.length });
    expect(r3.size).toBe(0);
    const entries = await readAll(path);
    expect(entries.get('core/users.csv')).toEqual({ method: 8, data: text });
    expect(entries.get('voicemail/1000/vm.wav')).toEqual({ method: 0, data: binary });
    expect(entries.get('empty.txt')?.data.length).toBe(0);
    expect(r4).toMatchObject({ size: long.length, sha256: createHash('sha256').update(long).digest('hex') });
    expect(entries.get('announcements/long.wav')?.data.equals(long)).toBe(true);
  });

  it('into a sink: the archive is the same bytes, given once and in order; size and SHA-256 are the sink\'s; no spool is left', async () => {
    const modified = new Date('2026-03-01T12:00:00Z');
    const long = randomBytes(9 * 1024 * 1024 + 5); // beyond what is held in memory: its tail waits in a spool file
    const write = async (path: string, sink?: ArchiveSink) => {
      const zip = await ZipWriter.create(path, { modified, sink });
      await zip.addEntry('core/users.csv', Readable.from(['id,name\n', '1,Ann\n'].map((l) => Buffer.from(l))), { method: 'deflate' });
      await zip.addEntry('announcements/long.wav', Readable.from(Array.from({ length: 10 }, (_, i) => long.subarray(i << 20, (i + 1) << 20))), { method: 'store' });
      await zip.addEntry('manifest.json', Buffer.from('{}'), { method: 'deflate' });
      return zip.finish();
    };
    const plainPath = join(dir, 'plain.zip');
    await write(plainPath);
    const seen: Buffer[] = [];
    const sink: ArchiveSink = {
      write: async (chunk) => void seen.push(Buffer.from(chunk)), // a copy: what it held then
      finish: async () => ({ size: 42, sha256: 'from the sink' }),
      abort: async () => undefined,
    };
    const done = await write(join(dir, 'never-written.zip'), sink);
    expect(Buffer.concat(seen).equals(await readFile(plainPath))).toBe(true);
    expect(done).toEqual({ size: 42, sha256: 'from the sink' });
    expect(readdirSync(dir)).toEqual(['plain.zip']);
  });

  it('completes every local header with CRC-32 and sizes, so a streaming reader finds every entry without data descriptors', async () => {
    const path = join(dir, 'local.zip');
    const zip = await ZipWriter.create(path);
    const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `${i},row ${i}\n`).join(''));
    const long = randomBytes(9 * 1024 * 1024);
    await zip.addEntry('core/users.csv', Readable.from([text.subarray(0, 100), text.subarray(100)]), { method: 'deflate' });
    await zip.addEntry('voicemail/1000/vm.wav', Readable.from([long]), { method: 'store' });
    await zip.addEntry('empty.wav', Readable.from([]), { method: 'store' });
    await zip.addEntry('manifest.json', Buffer.from('{"a":1}'), { method: 'deflate' });
    const done = await zip.finish();

    const file = await readFile(path);
    expect(done.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    const local = expectCompleteLocalHeaders(file, ['core/users.csv', 'voicemail/1000/vm.wav', 'empty.wav', 'manifest.json']);
    expect(local[0].content.equals(text)).toBe(true);
    expect(local[1].content.equals(long)).toBe(true);
    // Streamed entries keep room for a ZIP64 field (a placeholder below 4 GiB); in-memory ones need none.
    expect(local.map((e) => e.extraIds)).toEqual([[0xa11e], [0xa11e], [0xa11e], []]);
  });

  it('switches to ZIP64 end records beyond 65535 entries', async () => {
    const path = join(dir, 'many.zip');
    const zip = await ZipWriter.create(path);
    const n = 65_600;
    for (let i = 0; i < n; i++) await zip.addEntry(`e/${i}`, Buffer.from(String(i)), { method: 'store' });
    await zip.finish();
    const file = await readFile(path);
    expect(walkLocalHeaders(file)).toHaveLength(n);
    expect(file.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]), file.length - 200)).toBeGreaterThan(0);
    const names = await new Promise<string[]>((resolve, reject) => {
      yauzl.open(path, { lazyEntries: true }, (err, z) => {
        if (err || !z) return reject(err);
        const seen: string[] = [];
        z.on('entry', (e: Entry) => {
          seen.push(e.fileName);
          z.readEntry();
        });
        z.on('end', () => resolve(seen));
        z.readEntry();
      });
    });
    expect(names).toHaveLength(n);
    expect(names[n - 1]).toBe('e/65599');
  }, 60_000);

  it('rejects unsafe and duplicate entry names', async () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../b', 'a\\b', 'a//b', '']) expect(() => assertEntryName(bad)).toThrow();
    const zip = await ZipWriter.create(join(dir, 'd.zip'));
    await zip.addEntry('a', Buffer.from('1'), { method: 'store' });
    await expect(zip.addEntry('a', Buffer.from('2'), { method: 'store' })).rejects.toThrow(/duplicate/);
    await zip.finish();
  });
});

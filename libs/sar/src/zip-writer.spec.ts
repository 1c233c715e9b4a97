import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yauzl, { type Entry } from 'yauzl';
import { assertEntryName, ZipWriter } from './zip-writer';

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
    const zip = new ZipWriter(createWriteStream(path));
    const text = Buffer.from('id,name\n'.repeat(1) + Array.from({ length: 5000 }, (_, i) => `${i},Müller ${i}\n`).join(''));
    const binary = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) & 0xff));
    // Many tiny chunks, as COPY delivers them.
    const r1 = await zip.addEntry('core/users.csv', Readable.from(text.toString().split('\n').map((l) => Buffer.from(`${l}\n`)).slice(0, -1)), {
      method: 'deflate',
    });
    const r2 = await zip.addEntry('voicemail/1000/vm.wav', Readable.from([binary.subarray(0, 1000), binary.subarray(1000)]), { method: 'store' });
    const r3 = await zip.addEntry('empty.txt', Buffer.alloc(0), { method: 'deflate' });
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
  });

  it('switches to ZIP64 end records beyond 65535 entries', async () => {
    const path = join(dir, 'many.zip');
    const zip = new ZipWriter(createWriteStream(path));
    const n = 65_600;
    for (let i = 0; i < n; i++) await zip.addEntry(`e/${i}`, Buffer.from(String(i)), { method: 'store' });
    await zip.finish();
    const file = await readFile(path);
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
    const zip = new ZipWriter(createWriteStream(join(dir, 'd.zip')));
    await zip.addEntry('a', Buffer.from('1'), { method: 'store' });
    await expect(zip.addEntry('a', Buffer.from('2'), { method: 'store' })).rejects.toThrow(/duplicate/);
    await zip.finish();
  });
});

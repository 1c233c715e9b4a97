import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PostgresPbxSource } from '@pbx/pbx-source';
import { seededPbx, tempDir, testUrls, type SeededPbx } from '@pbx/testing';
import { listSar, verifySar, writeSar, type WriteSarOptions } from './index';
import { ZipWriter } from './zip-writer';
import { ZIP_READERS, zipReaders, type ZipReaders } from './zip-readers.test-helper';

const GiB = 1024 ** 3;

/**
 * Extra field IDs of every local header, walked as a streaming reader does: each header's sizes
 * (or its ZIP64 field's) say where the next one begins. Reads headers only (files may be > 4 GiB).
 */
async function localExtraIds(path: string): Promise<Map<string, number[]>> {
  const fh = await open(path, 'r');
  const ids = new Map<string, number[]>();
  try {
    const head = Buffer.alloc(30);
    for (let p = 0; (await fh.read(head, 0, 30, p)).bytesRead === 30 && head.readUInt32LE(0) === 0x04034b50; ) {
      let compressed = head.readUInt32LE(18);
      const rest = Buffer.alloc(head.readUInt16LE(26) + head.readUInt16LE(28));
      await fh.read(rest, 0, rest.length, p + 30);
      const nameLength = head.readUInt16LE(26);
      const found: number[] = [];
      for (let x = nameLength; x < rest.length; x += 4 + rest.readUInt16LE(x + 2)) {
        found.push(rest.readUInt16LE(x));
        if (rest.readUInt16LE(x) === 0x0001) compressed = Number(rest.readBigUInt64LE(x + 12));
      }
      ids.set(rest.toString('utf8', 0, nameLength), found);
      p += 30 + rest.length + compressed;
    }
  } finally {
    await fh.close();
  }
  return ids;
}

// Issue #18: Info-ZIP, Python, 7-Zip and libarchive read every .sar, Java's ZipInputStream refused
// the stored audio's data descriptors. A reader missing here fails the suite (.ci/run installs them).
describe('.sar files open in every mainstream ZIP reader, streaming ones included', () => {
  let pbx: SeededPbx;
  let out: Awaited<ReturnType<typeof tempDir>>;
  let source: PostgresPbxSource;
  let readers: ZipReaders;

  beforeAll(async () => {
    pbx = await seededPbx('sar_readers', {
      users: 12,
      cdr: 2000,
      voicemails: 6,
      announcements: 2,
      days: 30,
      seed: 18,
      minAudioBytes: 20_000,
      maxAudioBytes: 60_000,
      now: new Date('2024-06-14T12:00:00Z'),
    });
    out = await tempDir('pbx-sar-readers-out-');
    source = new PostgresPbxSource({ databaseUrl: testUrls.database, schema: pbx.schema, dataDir: pbx.dataDir });
    readers = await zipReaders(out.path);
  });

  afterAll(async () => {
    await source?.close();
    await pbx?.close();
    await out?.remove();
  });

  /** Every reader reads every entry of the central directory, in its order. */
  async function expectEveryReaderReadsAll(path: string, names: string[]): Promise<void> {
    const read = await readers.readAll(path);
    for (const reader of ZIP_READERS) expect({ reader, count: read[reader].length, names: read[reader] }).toEqual({ reader, count: names.length, names });
  }

  /** A full backup of the seeded PBX, verified, then read by every reader. */
  async function fullBackup(name: string, options: Partial<WriteSarOptions> = {}): Promise<string> {
    const path = join(out.path, name);
    await writeSar({
      source,
      sections: { coreData: true, cdrAndVoicemails: true, announcements: true },
      outPath: path,
      configurationName: 'Readers',
      pbxId: 'pbx-readers',
      kind: 'backup',
      ...options,
    });
    const verified = await verifySar(path);
    if (!verified.ok) throw new Error(`${verified.badEntry}: ${verified.reason}`);
    await expectEveryReaderReadsAll(path, (await listSar(path)).entries.map((e) => e.path));
    return path;
  }

  it('a full backup: audio stored (the default) and deflated (SAR_AUDIO_DEFLATE_LEVEL)', async () => {
    const stored = await fullBackup('full.sar');
    expect((await listSar(stored)).entries.filter((e) => e.method === 'store')).toHaveLength(8);
    await fullBackup('audio-deflated.sar', { audioLevel: 2 });
  });

  it('a full backup whose entries, offsets and central directory all take ZIP64 records (thresholds lowered)', async () => {
    const path = await fullBackup('zip64.sar', { zip64From: 16 * 1024 });
    const { entries } = await listSar(path);
    const ids = await localExtraIds(path);
    // Every entry of 16 KiB or more carries its sizes in a local ZIP64 field; the others keep the placeholder.
    const big = entries.filter((e) => e.size >= 16 * 1024);
    expect(big.length).toBeGreaterThanOrEqual(9);
    for (const e of big) expect({ path: e.path, ids: ids.get(e.path) }).toEqual({ path: e.path, ids: [0x0001] });
    const file = await readFile(path);
    expect(file.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBeGreaterThan(0); // ZIP64 end of central directory
  });

  it('more than 65,535 entries (ZIP64 end of central directory)', async () => {
    const path = join(out.path, 'many.zip');
    const zip = await ZipWriter.create(path);
    const names: string[] = [];
    for (let i = 0; i < 65_600; i++) {
      names.push(`announcements/many/${i}.wav`);
      await zip.addEntry(names[i], Readable.from([Buffer.from(`RIFF${i}`)]), { method: i % 2 ? 'store' : 'deflate' });
    }
    await zip.finish();
    await expectEveryReaderReadsAll(path, names);
  }, 180_000);

  // Slow (about 40 s, most of it `unzip -t` CRC-ing 4 GiB): the one test that writes 4 GiB for real.
  it('a stored entry over 4 GiB (ZIP64 in its local header) and entries past 4 GiB', async () => {
    const huge = join(out.path, 'huge.wav');
    const size = 4 * GiB + 1024 * 1024 + 7;
    const fh = await open(huge, 'w');
    await fh.truncate(size); // sparse: reads as zeros
    await fh.close();
    const path = join(out.path, 'huge.zip');
    const zip = await ZipWriter.create(path);
    await zip.addEntry('core/users.csv', Readable.from(['id,name\n', '1,A\n']), { method: 'deflate' });
    const r = await zip.addEntry('announcements/huge.wav', createReadStream(huge, { highWaterMark: 1024 * 1024 }), { method: 'store' });
    await zip.addEntry('manifest.json', Readable.from(['{}']), { method: 'deflate' });
    const done = await zip.finish();
    await rm(huge);
    expect(r.size).toBe(size);
    expect(done.size).toBe((await stat(path)).size);
    expect((await localExtraIds(path)).get('announcements/huge.wav')).toEqual([0x0001]);
    await expectEveryReaderReadsAll(path, ['core/users.csv', 'announcements/huge.wav', 'manifest.json']);
    await rm(path);
  }, 120_000);
});

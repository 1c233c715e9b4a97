import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listSar, openSarEntry, verifySar } from './sar-reader.service';

/**
 * A full backup of a tiny seeded PBX (3 users, 12 CDRs, 2 voicemails, 1 announcement), written
 * by the writer of commit 5c36544: every entry has a data descriptor and zeros for CRC and sizes
 * in its local header. Readers keep reading every archive written before (docs/sar-format.md).
 */
const LEGACY = join(__dirname, '../fixtures/written-with-data-descriptors.sar');

describe('a .sar written with data descriptors (before issue #18)', () => {
  it('is the old layout: descriptor flag and zero sizes in every local header', async () => {
    const file = await readFile(LEGACY);
    let p = 0;
    let entries = 0;
    while (file.readUInt32LE(p) === 0x04034b50) {
      expect(file.readUInt16LE(p + 6) & 0x0008).toBe(0x0008);
      expect([file.readUInt32LE(p + 14), file.readUInt32LE(p + 18), file.readUInt32LE(p + 22)]).toEqual([0, 0, 0]);
      entries += 1;
      // The next local header follows the entry's 16-byte descriptor (no entry's data holds its signature).
      const next = file.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]), p + 30);
      p = next + 16;
    }
    expect(entries).toBe(12);
  });

  it('still verifies, lists and opens every entry', async () => {
    const verified = await verifySar(LEGACY);
    if (!verified.ok) throw new Error(`${verified.badEntry}: ${verified.reason}`);
    const { manifest, entries } = await listSar(LEGACY);
    expect(manifest).toMatchObject({ kind: 'backup', configurationName: 'Legacy', pbxId: 'pbx-fixture', sections: ['core', 'cdr', 'voicemail', 'announcements'] });
    expect(entries.map((e) => e.path)).toEqual([...manifest.entries.map((e) => e.path), 'manifest.json']);
    for (const want of manifest.entries) {
      const hash = createHash('sha256');
      for await (const chunk of await openSarEntry(LEGACY, want.path)) hash.update(chunk as Buffer);
      expect(`${want.path} ${hash.digest('hex')}`).toBe(`${want.path} ${want.sha256}`);
    }
  });
});

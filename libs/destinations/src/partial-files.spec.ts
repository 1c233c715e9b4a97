import { backupLocation, checkSegment } from './paths';
import { debrisToRemove, deliveryTag, isPartialName, PARTIAL_STALE_AFTER_MS, partialName } from './partial-files';

const DELIVERY = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const OTHER = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const FILE = 'Nightly_20261201-013000_3f2a9c1e.sar';
const NOW = Date.UTC(2026, 11, 1, 2, 0, 0);

describe('partial upload names', () => {
  it("carry the delivery's tag, so the next attempt of the same delivery can find them, and a nonce", () => {
    const a = partialName(FILE, DELIVERY);
    expect(a).toMatch(new RegExp(`^\\.${FILE.replace(/\./g, '\\.')}\\.partial-0f1e2d3c4b5a-[0-9a-f]{8}$`));
    expect(partialName(FILE, DELIVERY)).not.toBe(a);
    expect(isPartialName(a)).toBe(true);
    expect(deliveryTag(DELIVERY)).toBe('0f1e2d3c4b5a');
    expect(deliveryTag(undefined)).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('debrisToRemove: what an attempt removes before it writes', () => {
  const fresh = NOW - 1000;
  const stale = NOW - PARTIAL_STALE_AFTER_MS;
  const pick = (entries: { name: string; mtimeMs: number | null; isDir?: boolean }[], deliveryId: string | null = DELIVERY) =>
    debrisToRemove(entries, { fileName: FILE, deliveryId: deliveryId ?? undefined, now: NOW });

  it("removes its own delivery's earlier partials of this file, whatever their age", () => {
    const own = partialName(FILE, DELIVERY);
    expect(pick([{ name: own, mtimeMs: fresh }])).toEqual([own]);
    expect(pick([{ name: own, mtimeMs: null }])).toEqual([own]);
  });

  it("leaves a fresh partial of another delivery or another file (a concurrent upload) alone", () => {
    expect(pick([{ name: partialName(FILE, OTHER), mtimeMs: fresh }])).toEqual([]);
    expect(pick([{ name: partialName('Other_20261201-013000_aaaaaaaa.sar', DELIVERY), mtimeMs: fresh }])).toEqual([]);
    // Without a delivery id nothing is "own".
    expect(pick([{ name: partialName(FILE, DELIVERY), mtimeMs: fresh }], null)).toEqual([]);
  });

  it('an encrypted archive (.sar.age) leaves the same debris and it is removed the same way', () => {
    const encrypted = FILE.replace(/\.sar$/, '.sar.age');
    const own = partialName(encrypted, DELIVERY);
    expect(debrisToRemove([{ name: own, mtimeMs: fresh }], { fileName: encrypted, deliveryId: DELIVERY, now: NOW })).toEqual([own]);
    const theirs = partialName(encrypted, OTHER);
    expect(pick([{ name: theirs, mtimeMs: stale }])).toEqual([theirs]);
  });

  it('removes any partial of ours (also the old pattern) nobody wrote to for the safety age', () => {
    const names = [partialName(FILE, OTHER), `.${FILE}.partial-a1b2c3d4e5f6`, partialName('backup.sar', OTHER)];
    expect(pick(names.map((name) => ({ name, mtimeMs: stale })))).toEqual(names);
    expect(pick(names.map((name) => ({ name, mtimeMs: stale + 1 })))).toEqual([]);
    expect(pick(names.map((name) => ({ name, mtimeMs: null })))).toEqual([]);
  });

  it('never chooses a name outside our exact pattern, however old', () => {
    const foreign = [
      FILE,
      `${FILE}.partial-a1b2c3d4e5f6`, // not hidden
      `.${FILE}.partial-a1b2c3d4e5f`, // 11 hex
      `.${FILE}.partial-a1b2c3d4e5f6-0000`, // short nonce
      `.${FILE}.partial-A1B2C3D4E5F6`, // upper case
      '.notes.txt.partial-a1b2c3d4e5f6', // not an archive
      `.${FILE}.partial-a1b2c3d4e5f6.bak`,
      '.probe-abc-01234567',
      `.${FILE}.part`,
    ];
    expect(pick(foreign.map((name) => ({ name, mtimeMs: 0 })))).toEqual([]);
    expect(pick([{ name: `.${FILE}.partial-a1b2c3d4e5f6`, mtimeMs: 0, isDir: true }])).toEqual([]);
  });
});

describe('names arrive in their stored form (NFC)', () => {
  it('a legacy NFD name and the file name built from it become NFC', () => {
    const nfd = 'Sicherung Müller'.normalize('NFD');
    expect(checkSegment('configuration name', nfd)).toBe('Sicherung Müller'.normalize('NFC'));
    expect(backupLocation(nfd, `${nfd}.sar`)).toBe(`starface-backup/${'Sicherung Müller'.normalize('NFC')}/${'Sicherung Müller'.normalize('NFC')}.sar`);
    expect(checkSegment('configuration name', '東京 É ß')).toBe('東京 É ß');
  });
});

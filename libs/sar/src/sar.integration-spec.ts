import { execFile } from 'node:child_process';
import { copyFile, open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { PostgresPbxSource, type AudioKind, type PbxSource, type SelectionFilter } from '@pbx/pbx-source';
import { seededPbx, tempDir, testUrls, type SeededPbx } from '@pbx/testing';
import { listSar, openSarEntry, verifySar, writeSar, type SarProgress } from './index';

const run = promisify(execFile);
const NOW = new Date('2024-06-14T12:00:00Z');

async function text(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

async function bytes(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Offset of an entry's data: after its local header (30 bytes + name + extra). */
async function dataOffset(sarPath: string, entryPath: string): Promise<number> {
  const yauzl = await import('yauzl');
  const offset = await new Promise<number>((resolve, reject) => {
    yauzl.open(sarPath, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      zip.on('entry', (e) => {
        if (e.fileName === entryPath) {
          zip.close();
          resolve(e.relativeOffsetOfLocalHeader);
        } else zip.readEntry();
      });
      zip.on('end', () => reject(new Error(`no ${entryPath}`)));
      zip.readEntry();
    });
  });
  const fh = await open(sarPath, 'r');
  const head = Buffer.alloc(30);
  await fh.read(head, 0, 30, offset);
  await fh.close();
  return offset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] ^= 0x5a;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('.sar writer and reader against a seeded PBX', () => {
  let pbx: SeededPbx;
  let out: Awaited<ReturnType<typeof tempDir>>;
  let source: PostgresPbxSource;
  let fullSar: string;

  beforeAll(async () => {
    pbx = await seededPbx('sar', { users: 25, cdr: 5000, voicemails: 14, announcements: 4, days: 30, seed: 42, minAudioBytes: 20_000, maxAudioBytes: 70_000, now: NOW });
    out = await tempDir('pbx-sar-out-');
    source = new PostgresPbxSource({ databaseUrl: testUrls.database, schema: pbx.schema, dataDir: pbx.dataDir });
    fullSar = join(out.path, 'full.sar');
    const progress: SarProgress[] = [];
    const result = await writeSar({
      source,
      sections: { coreData: true, cdrAndVoicemails: true, announcements: true },
      outPath: fullSar,
      configurationName: 'Nightly',
      pbxId: 'pbx-test-1',
      kind: 'backup',
      onProgress: (p) => progress.push(p),
    });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1].bytesWritten).toBe(result.size);
    expect((await stat(fullSar)).size).toBe(result.size);
  });

  afterAll(async () => {
    await source?.close();
    await pbx?.close();
    await out?.remove();
  });

  it('round-trips every row and every audio file', async () => {
    const verified = await verifySar(fullSar);
    if (!verified.ok) throw new Error(`${verified.badEntry}: ${verified.reason}`);
    const { manifest, entries } = await listSar(fullSar);
    expect(manifest).toMatchObject({ format: 'sar', formatVersion: 1, kind: 'backup', configurationName: 'Nightly', pbxId: 'pbx-test-1' });
    expect(manifest.sections).toEqual(['core', 'cdr', 'voicemail', 'announcements']);
    expect(entries[entries.length - 1].path).toBe('manifest.json');

    for (const table of ['users', 'groups', 'group_members', 'phones', 'number_assignments', 'chat_messages'] as const) {
      expect(await text(await openSarEntry(fullSar, `core/${table}.csv`))).toBe(await text(await source.openCoreTable(table)));
    }
    const cdr = await text(await openSarEntry(fullSar, 'cdr/cdr.csv'));
    expect(cdr).toBe(await text(await source.openCdrCsv()));
    expect(cdr.split('\n')[0]).toMatch(/^id,call_id,started_at,/);
    expect(await text(await openSarEntry(fullSar, 'voicemail/voicemails.csv'))).toBe(await text(await source.openVoicemailCsv()));

    const stats = await source.stats();
    expect(manifest.counts).toMatchObject({ ...stats.rowCounts, voicemailAudio: 14, announcements: 4 });
    expect(manifest.counts.cdr).toBe(5000);

    let audio = 0;
    for (const kind of ['voicemail', 'announcements'] as AudioKind[]) {
      for await (const f of source.audioFiles(kind)) {
        expect((await bytes(await openSarEntry(fullSar, f.relativePath))).equals(await readFile(f.absolutePath))).toBe(true);
        expect(entries.find((e) => e.path === f.relativePath)?.method).toBe('store');
        audio += 1;
      }
    }
    expect(audio).toBe(18);
    expect(entries.filter((e) => e.path.endsWith('.csv')).every((e) => e.method === 'deflate' && e.compressedSize < e.size)).toBe(true);
    // Any standard unzip reads it too.
    await run('unzip', ['-tq', fullSar]);
  });

  it('contains only the selected sections', async () => {
    const annOnly = join(out.path, 'ann.sar');
    const r = await writeSar({
      source,
      sections: { coreData: false, cdrAndVoicemails: false, announcements: true },
      outPath: annOnly,
      configurationName: 'Ansagen',
      pbxId: 'pbx-test-1',
      kind: 'backup',
    });
    expect(r.sections).toEqual(['announcements']);
    const { manifest, entries } = await listSar(annOnly);
    expect(entries.map((e) => e.path.split('/')[0]).filter((p) => p !== 'manifest.json').every((p) => p === 'announcements')).toBe(true);
    expect(entries).toHaveLength(5);
    expect(manifest.sections).toEqual(['announcements']);
    expect((await verifySar(annOnly)).ok).toBe(true);

    const coreCdr = join(out.path, 'core-cdr.sar');
    await writeSar({
      source,
      sections: { coreData: true, cdrAndVoicemails: true, announcements: false },
      outPath: coreCdr,
      configurationName: 'Daten',
      pbxId: 'pbx-test-1',
      kind: 'backup',
    });
    const listed = await listSar(coreCdr);
    expect(new Set(listed.entries.map((e) => e.path.split('/')[0]))).toEqual(new Set(['core', 'cdr', 'voicemail', 'manifest.json']));
    expect(listed.manifest.sections).toEqual(['core', 'cdr', 'voicemail']);
  });

  it('names the entry whose stored bytes were flipped', async () => {
    const copy = join(out.path, 'flip-stored.sar');
    await copyFile(fullSar, copy);
    const target = 'announcements/ann-002-after-hours.wav';
    await flipByte(copy, (await dataOffset(copy, target)) + 5000);
    expect(await verifySar(copy)).toMatchObject({ ok: false, badEntry: target, reason: expect.stringMatching(/sha256/) });
  });

  it('names the entry whose deflated bytes were flipped', async () => {
    const copy = join(out.path, 'flip-deflated.sar');
    await copyFile(fullSar, copy);
    await flipByte(copy, (await dataOffset(copy, 'cdr/cdr.csv')) + 20_000);
    const result = await verifySar(copy);
    expect(result).toMatchObject({ ok: false, badEntry: 'cdr/cdr.csv' });
  });

  it('reports a truncated file as an unreadable archive', async () => {
    const copy = join(out.path, 'truncated.sar');
    const full = await readFile(fullSar);
    const fh = await open(copy, 'w');
    await fh.write(full.subarray(0, full.length - 100));
    await fh.close();
    expect(await verifySar(copy)).toMatchObject({ ok: false, badEntry: '(archive)' });
  });

  it('with audioLevel (opt-in), deflates audio too: every file round-trips, verifies, and standard unzip reads it', async () => {
    const path = join(out.path, 'audio-deflated.sar');
    const result = await writeSar({
      source,
      sections: { coreData: true, cdrAndVoicemails: true, announcements: true },
      outPath: path,
      configurationName: 'Nightly',
      pbxId: 'pbx-test-1',
      kind: 'backup',
      audioLevel: 2,
    });
    const verified = await verifySar(path);
    if (!verified.ok) throw new Error(`${verified.badEntry}: ${verified.reason}`);
    const { manifest, entries } = await listSar(path);
    const stored = await listSar(fullSar);
    // The same entries in the same order with the same content; only the audio's method differs.
    expect(manifest.entries).toEqual(stored.manifest.entries);
    expect(result.size).toBeLessThan((await stat(fullSar)).size);
    let audio = 0;
    for (const kind of ['voicemail', 'announcements'] as AudioKind[]) {
      for await (const f of source.audioFiles(kind)) {
        const e = entries.find((x) => x.path === f.relativePath)!;
        expect(e.method).toBe('deflate');
        expect(e.compressedSize).toBeLessThan(e.size);
        expect((await bytes(await openSarEntry(path, f.relativePath))).equals(await readFile(f.absolutePath))).toBe(true);
        audio += 1;
      }
    }
    expect(audio).toBe(18);
    expect((await readdir(out.path)).filter((f) => f.startsWith('audio-deflated') && f !== 'audio-deflated.sar')).toEqual([]); // no spool left
    await run('unzip', ['-tq', path]);
  });

  it.each([
    ['audio stored', 0],
    ['audio deflated (audioLevel 2)', 2],
  ])('removes the partial output and every spool file when a source fails midway (%s)', async (_label, audioLevel) => {
    const name = `broken-${audioLevel}`;
    const partial = join(out.path, `${name}.sar.partial`);
    const broken: PbxSource = Object.assign(Object.create(source) as PbxSource, {
      async *audioFiles(kind: AudioKind, filter?: SelectionFilter) {
        let n = 0;
        for await (const f of source.audioFiles(kind, filter)) {
          // With audio deflated ahead, fail after a few files are already in flight.
          if (++n === (audioLevel ? 6 : 3)) yield { ...f, absolutePath: join(pbx.dataDir, 'gone.wav') };
          else yield f;
        }
      },
    });
    await expect(
      writeSar({
        source: broken,
        sections: { coreData: true, cdrAndVoicemails: true, announcements: true },
        outPath: partial,
        configurationName: 'x',
        pbxId: 'p',
        kind: 'backup',
        audioLevel,
      }),
    ).rejects.toThrow(/ENOENT/);
    expect(await exists(partial)).toBe(false);
    // The background CDR spool and any audio spools are gone too.
    expect((await readdir(out.path)).filter((f) => f.startsWith(name))).toEqual([]);
  });

  it('removes the partial output when aborted', async () => {
    const partial = join(out.path, 'aborted.sar.partial');
    const ac = new AbortController();
    await expect(
      writeSar({
        source,
        sections: { coreData: true, cdrAndVoicemails: true, announcements: true },
        outPath: partial,
        configurationName: 'x',
        pbxId: 'p',
        kind: 'backup',
        signal: ac.signal,
        onProgress: (p) => {
          if (p.entriesDone === 8) ac.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    expect(await exists(partial)).toBe(false);
    expect((await readdir(out.path)).filter((f) => f.startsWith('aborted'))).toEqual([]);
    // The aborted COPY streams released their connections: the pool still works.
    expect((await source.stats()).rowCounts.cdr).toBe(5000);
  });

  it('packs exactly an archive selection', async () => {
    const cutoff = new Date(NOW.getTime() - 10 * 86_400_000);
    const selection = await source.selectArchiveItems('sar-archive-1', { cdrOlderThan: cutoff, voicemailsOlderThan: cutoff });
    expect(selection.cdrCount).toBeGreaterThan(0);
    expect(selection.cdrCount).toBeLessThan(5000);
    expect(selection.voicemailCount).toBeGreaterThan(0);
    const path = join(out.path, 'archive.sar');
    await writeSar({
      source,
      sections: { coreData: false, cdrAndVoicemails: true, announcements: false },
      outPath: path,
      configurationName: 'Archiv',
      pbxId: 'pbx-test-1',
      kind: 'archive',
      archiveSelection: selection,
    });
    const verified = await verifySar(path);
    if (!verified.ok) throw new Error(verified.reason);
    const m = verified.manifest;
    expect(m.kind).toBe('archive');
    expect(m.archive).toEqual({ selectionId: 'sar-archive-1', cdrOlderThan: cutoff.toISOString(), voicemailsOlderThan: cutoff.toISOString() });
    expect(m.counts).toEqual({ cdr: selection.cdrCount, voicemails: selection.voicemailCount, voicemailAudio: selection.voicemailCount });
    const cdrRows = (await text(await openSarEntry(path, 'cdr/cdr.csv'))).trimEnd().split('\n').slice(1);
    expect(cdrRows).toHaveLength(selection.cdrCount);
    // column 3 is started_at: every packed CDR is older than the cut-off
    expect(cdrRows.every((r) => new Date(r.split(',')[2]) < cutoff)).toBe(true);
    const audio = m.entries.filter((e) => e.path.endsWith('.wav'));
    expect(audio).toHaveLength(selection.voicemailCount);
  });
});

import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PostgresPbxRestoreTarget, PostgresPbxSource, seedPbx, walkFiles } from '@pbx/pbx-source';
import { openSarArchive, verifySar } from '@pbx/sar';
import { freshSchema, tempDir, testUrls } from '@pbx/testing';
import { SafetyBackupWriter } from './safety-backup.writer';

// The capture keeps the audio as it was whatever happens to the live folder afterwards (the
// restore swaps it out and removes it), by hard links or, where links are refused, by copies.

const SEED = { users: 5, cdr: 200, voicemails: 6, announcements: 3, days: 30, seed: 7, minAudioBytes: 2000, maxAudioBytes: 6000, now: new Date('2024-06-14T12:00:00Z') };

describe('SafetyBackupWriter (real Postgres, a data dir on disk)', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let source: PostgresPbxSource;
  let target: PostgresPbxRestoreTarget;

  beforeAll(async () => {
    schema = await freshSchema('safety');
    data = await tempDir('pbx-safety-data-');
    work = await tempDir('pbx-safety-work-');
    const pbx = { databaseUrl: testUrls.database, schema: schema.name, dataDir: data.path };
    await seedPbx({ ...pbx, ...SEED, reset: true });
    source = new PostgresPbxSource(pbx);
    target = new PostgresPbxRestoreTarget(pbx);
  });
  afterAll(async () => {
    await Promise.all([source?.close(), target?.close()]);
    await schema?.drop();
    await data?.remove();
    await work?.remove();
  });

  async function audioHashes(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const folder of ['voicemail', 'announcements']) {
      for await (const f of walkFiles(data.path, folder)) out[f.relativePath] = createHash('sha256').update(await readFile(f.absolutePath)).digest('hex');
    }
    return out;
  }

  const refused = async () => {
    throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
  };

  it.each([
    ['hard links', undefined],
    ['copies, where the filesystem refuses a link', refused],
  ] as const)('by %s: the packed safety archive holds the audio as captured, after the live folders were replaced', async (_how, linkFile) => {
    const restoreId = `cap-${linkFile ? 'copy' : 'link'}`;
    const writer = new SafetyBackupWriter(source, target, join(work.path, 'artifacts'), 'pbx-test', linkFile);
    const before = await audioHashes();
    await writer.capture(restoreId, ['cdrAndVoicemails', 'announcements']);
    expect(await writer.hasCapture(restoreId)).toBe(true);

    // What a restore's swap does to the live folders afterwards: gone, new files in their place.
    for (const folder of ['voicemail', 'announcements']) await rm(join(data.path, folder), { recursive: true });
    await writeFile(join(data.path, 'announcements-new.wav'), 'not captured');

    const backup = await writer.pack(restoreId, () => undefined);
    expect(await verifySar(backup.path)).toMatchObject({ ok: true });
    const archive = await openSarArchive(backup.path);
    try {
      const packed: Record<string, string> = {};
      for (const e of archive.manifest.entries) if (e.path.endsWith('.wav')) packed[e.path] = e.sha256;
      expect(packed).toEqual(before);
    } finally {
      archive.close();
    }
    await writer.release(restoreId);
    expect(await writer.hasCapture(restoreId)).toBe(false);
    await seedPbx({ databaseUrl: testUrls.database, schema: schema.name, dataDir: data.path, ...SEED, reset: true });
  });
});

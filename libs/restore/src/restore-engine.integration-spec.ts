import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { MaintenanceLock } from '@pbx/locking';
import {
  CORE_TABLES,
  PostgresPbxRestoreTarget,
  PostgresPbxSource,
  seedPbx,
  walkFiles,
  type PbxSection,
  type PbxTable,
  type RestoreMode,
} from '@pbx/pbx-source';
import { verifySar, writeSar } from '@pbx/sar';
import { expectEventually, freshSchema, tempDir, testUrls, uniqueName } from '@pbx/testing';
import { RestoreEngine, type RestoreCheckpoint, type RestoreProgress, type TableDiff } from './index';

const NOW = new Date('2024-06-14T12:00:00Z');
const DAY = 86_400_000;
const PBX_ID = 'pbx-test';
const SEED = { users: 20, cdr: 2000, voicemails: 10, announcements: 3, days: 60, seed: 11, minAudioBytes: 4000, maxAudioBytes: 12_000, now: NOW };
const ORDER: Record<PbxTable, string> = {
  users: 'id',
  groups: 'id',
  group_members: 'group_id, user_id',
  phones: 'id',
  number_assignments: 'id',
  chat_messages: 'id',
  cdr: 'id',
  voicemails: 'id',
};
const ALL_TABLES: PbxTable[] = [...CORE_TABLES, 'cdr', 'voicemails'];

/** Every row of every table in key order, every audio file's sha256: what "equal" means here. */
interface Fingerprint {
  tables: Record<string, string[]>;
  audio: Record<string, Record<string, string>>;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('RestoreEngine', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let db: Client;
  let redis: Redis;
  let lock: MaintenanceLock;
  let lockPrefix: string;
  let source: PostgresPbxSource;
  let target: PostgresPbxRestoreTarget;
  let engine: RestoreEngine;
  let fullSar: string;
  let seeded: Fingerprint;

  const pbx = () => ({ databaseUrl: testUrls.database, schema: schema.name, dataDir: data.path });
  const artifactDir = () => join(work.path, 'artifacts');
  const t = (table: string) => `"${schema.name}".${table}`;

  async function fingerprint(): Promise<Fingerprint> {
    const tables: Fingerprint['tables'] = {};
    for (const table of ALL_TABLES) {
      const { rows } = await db.query<{ r: string }>(`SELECT x::text AS r FROM ${t(table)} x ORDER BY ${ORDER[table]}`);
      tables[table] = rows.map((r) => r.r);
    }
    const audio: Fingerprint['audio'] = {};
    for (const folder of ['voicemail', 'announcements']) {
      audio[folder] = {};
      for await (const f of walkFiles(data.path, folder)) audio[folder][f.relativePath] = sha256(await readFile(f.absolutePath));
    }
    return { tables, audio };
  }

  async function sectionPrint(fp: Fingerprint, section: PbxSection): Promise<unknown> {
    if (section === 'coreData') return CORE_TABLES.map((x) => fp.tables[x]);
    if (section === 'cdrAndVoicemails') return [fp.tables.cdr, fp.tables.voicemails, fp.audio.voicemail];
    return fp.audio.announcements;
  }

  async function voicemailFiles(): Promise<string[]> {
    const files: string[] = [];
    for await (const f of walkFiles(data.path, 'voicemail')) files.push(f.relativePath);
    return files;
  }

  /** Known changes in every section (the preview test counts them). */
  async function modify(): Promise<void> {
    await db.query(`UPDATE ${t('users')} SET first_name = first_name || 'X' WHERE id IN (1, 2, 3)`);
    await db.query(`INSERT INTO ${t('users')} (id, extension, first_name, last_name, email, login) VALUES (9999, '9999', 'New', 'User', 'n@x.de', 'new.user')`);
    await db.query(`DELETE FROM ${t('chat_messages')} WHERE id <= 5`);
    await db.query(`DELETE FROM ${t('cdr')} WHERE id <= 10`);
    await db.query(`UPDATE ${t('cdr')} SET codec = 'X' WHERE id BETWEEN 11 AND 14`);
    const files = await voicemailFiles();
    await unlink(join(data.path, files[0]));
    const second = join(data.path, files[1]);
    const bytes = await readFile(second);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(second, bytes);
    await writeFile(join(data.path, 'voicemail', '1000-stray.wav'), 'stray');
    await unlink(join(data.path, 'announcements', (await readdir(join(data.path, 'announcements'))).sort()[0]));
  }

  async function reseed(): Promise<void> {
    await seedPbx({ ...pbx(), ...SEED, reset: true });
  }

  async function journal(restoreId: string): Promise<{ section: string; state: string }[]> {
    const { rows } = await db.query(`SELECT section, state FROM ${t('restore_journal')} WHERE restore_id = $1 ORDER BY section`, [restoreId]);
    return rows;
  }

  async function leftovers(): Promise<string[]> {
    return (await readdir(data.path)).filter((n) => n.includes('.restore-') || n.includes('.replaced-') || n.includes('.safety-'));
  }

  /** The safety backups' captured data not yet packed and released. */
  async function captures(): Promise<string[]> {
    return (await readdir(artifactDir()).catch(() => [] as string[])).filter((n) => n.endsWith('.capture'));
  }

  const diff = (table: string, d: Partial<TableDiff>) => expect.objectContaining({ table, ...d });

  beforeAll(async () => {
    schema = await freshSchema('restore');
    data = await tempDir('pbx-restore-data-');
    work = await tempDir('pbx-restore-work-');
    db = new Client({ connectionString: testUrls.database });
    await db.connect();
    redis = new Redis(testUrls.redis);
    lockPrefix = `${uniqueName('restore-lock')}:`;
    lock = new MaintenanceLock(redis, { keyPrefix: lockPrefix, ttlMs: 1500 });
    await seedPbx({ ...pbx(), ...SEED });
    source = new PostgresPbxSource(pbx());
    target = new PostgresPbxRestoreTarget(pbx());
    engine = new RestoreEngine({ target, source, pbxId: PBX_ID, artifactDir: artifactDir(), lockRetryMs: 50 });
    fullSar = join(work.path, 'full.sar');
    await writeSar({ source, sections: { coreData: true, cdrAndVoicemails: true, announcements: true }, outPath: fullSar, configurationName: 'full', pbxId: PBX_ID, kind: 'backup' });
    seeded = await fingerprint();
  });

  beforeEach(reseed);

  afterAll(async () => {
    await target?.close();
    await source?.close();
    await db?.end();
    redis?.disconnect();
    await schema?.drop();
    await data?.remove();
    await work?.remove();
  });

  it('previews exactly what a replace changes without changing it, restores every row and file, and undoes via the safety backup', async () => {
    await modify();
    const modified = await fingerprint();
    expect(modified).not.toEqual(seeded);

    const preview = await engine.preview(fullSar, { mode: 'replace' });
    expect(await fingerprint()).toEqual(modified);
    const [core, cdr, ann] = preview.sections;
    expect(core.section).toBe('coreData');
    expect(core.tables).toEqual(
      expect.arrayContaining([
        diff('users', { rowsInArchive: 20, rowsAdded: 0, rowsRemoved: 1, rowsChanged: 3, rowsUnchanged: 17 }),
        diff('chat_messages', { rowsInArchive: 300, rowsAdded: 5, rowsRemoved: 0, rowsChanged: 0, rowsUnchanged: 295 }),
        diff('groups', { rowsAdded: 0, rowsRemoved: 0, rowsChanged: 0 }),
      ]),
    );
    expect(cdr.tables).toEqual([
      diff('cdr', { rowsInArchive: 2000, rowsAdded: 10, rowsRemoved: 0, rowsChanged: 4, rowsUnchanged: 1986 }),
      diff('voicemails', { rowsInArchive: 10, rowsAdded: 0, rowsRemoved: 0, rowsChanged: 0, rowsUnchanged: 10 }),
    ]);
    expect(cdr.audio).toMatchObject({ folder: 'voicemail', filesAdded: 1, filesReplaced: 1, filesRemoved: 1, filesUnchanged: 8 });
    expect(ann.audio).toMatchObject({ folder: 'announcements', filesAdded: 1, filesReplaced: 0, filesRemoved: 0, filesUnchanged: 2 });
    const merge = await engine.preview(fullSar, { mode: 'merge' });
    expect(merge.sections.map((s) => s.section)).toEqual(['cdrAndVoicemails']);
    expect(merge.sections[0].tables[0]).toMatchObject({ table: 'cdr', rowsAdded: 10, rowsRemoved: 0, rowsChanged: 0 });
    expect(merge.sections[0].audio).toMatchObject({ filesAdded: 1, filesReplaced: 0, filesRemoved: 0 });
    expect(await fingerprint()).toEqual(modified);

    const events: RestoreProgress[] = [];
    const result = await engine.restore(fullSar, { restoreId: uniqueName('rt'), mode: 'replace', lock, onProgress: (e) => events.push(e) });
    expect(await fingerprint()).toEqual(seeded);
    expect(await leftovers()).toEqual([]);
    expect(await captures()).toEqual([]);
    expect(result.safetyBackupError).toBeNull();
    expect(result.sections.map((s) => [s.section, s.mode])).toEqual([
      ['coreData', 'replace'],
      ['cdrAndVoicemails', 'replace'],
      ['announcements', 'replace'],
    ]);
    expect(result.sections[1].tables.find((x) => x.table === 'cdr')).toMatchObject({ rowsBefore: 1990, rowsDeleted: 1990, rowsInserted: 2000 });
    expect(result.sections[2].filesWritten).toBe(3);
    const phases = events.map((e) => e.phase).filter((p, i, a) => p !== a[i - 1]);
    expect(phases).toEqual(['verifying', 'restoring', 'safety-backup', 'done']);
    const last = events[events.length - 1];
    expect(last.sections.every((s) => s.status === 'restored')).toBe(true);
    expect(events.find((e) => e.phase === 'restoring' && e.bytesDone === e.bytesTotal)).toBeDefined();

    // Sequences point past the restored keys: new rows get fresh ids.
    await db.query(`INSERT INTO ${t('cdr')} (call_id, started_at, ended_at, direction, caller, callee, duration_s, billable_s, disposition, hangup_cause) VALUES ('new', now(), now(), 'internal', '1', '2', 0, 0, 'busy', 17)`);
    await db.query(`DELETE FROM ${t('cdr')} WHERE call_id = 'new'`);

    // The safety backup holds the state before the restore: restoring it undoes the restore.
    const safety = result.safetyBackup!;
    expect(safety.sections).toEqual(['coreData', 'cdrAndVoicemails', 'announcements']);
    expect((await stat(safety.path)).size).toBe(safety.size);
    expect(await verifySar(safety.path)).toMatchObject({ ok: true });
    await engine.restore(safety.path, { restoreId: uniqueName('undo'), mode: 'replace', lock, expectedSha256: safety.sha256 });
    expect(await fingerprint()).toEqual(modified);
  });

  it('merges CDRs and voicemails moved off by archiving back, changing nothing else', async () => {
    const cutoff = new Date(NOW.getTime() - 30 * DAY);
    const selection = await source.selectArchiveItems('sel-merge', { cdrOlderThan: cutoff, voicemailsOlderThan: cutoff });
    expect(selection.cdrCount).toBeGreaterThan(100);
    expect(selection.voicemailCount).toBeGreaterThan(0);
    const archiveSar = join(work.path, 'archive.sar');
    await writeSar({ source, sections: { coreData: false, cdrAndVoicemails: true, announcements: false }, outPath: archiveSar, configurationName: 'arch', pbxId: PBX_ID, kind: 'archive', archiveSelection: selection });
    await source.deleteArchived('sel-merge');
    await source.dropArchiveSelection('sel-merge');
    // Life went on: a remaining CDR changed, a new one arrived. Merge must keep both.
    await db.query(`UPDATE ${t('cdr')} SET codec = 'CHANGED' WHERE id = (SELECT max(id) FROM ${t('cdr')})`);
    await db.query(`INSERT INTO ${t('cdr')} (call_id, started_at, ended_at, direction, caller, callee, duration_s, billable_s, disposition, hangup_cause) VALUES ('later', now(), now(), 'internal', '1', '2', 0, 0, 'busy', 17)`);
    const before = await fingerprint();
    expect(before.tables.cdr).toHaveLength(2001 - selection.cdrCount);

    await expect(engine.restore(archiveSar, { restoreId: uniqueName('mr'), mode: 'replace', lock })).rejects.toMatchObject({ code: 'modeNotAllowed' });
    const preview = await engine.preview(archiveSar, { mode: 'merge' });
    expect(preview.sections[0].tables).toEqual([
      diff('cdr', { rowsAdded: selection.cdrCount, rowsRemoved: 0, rowsChanged: 0 }),
      diff('voicemails', { rowsAdded: selection.voicemailCount }),
    ]);
    expect(preview.sections[0].audio).toMatchObject({ filesAdded: selection.voicemailCount, filesReplaced: 0, filesRemoved: 0 });

    const result = await engine.restore(archiveSar, { restoreId: uniqueName('mg'), mode: 'merge', lock });
    expect(result.safetyBackup).toBeNull();
    expect(result.sections[0]).toMatchObject({ section: 'cdrAndVoicemails', mode: 'merge', filesWritten: selection.voicemailCount });
    const after = await fingerprint();
    const byId = (rows: string[]) => new Map(rows.map((r) => [Number(/^\((\d+),/.exec(r)![1]), r]));
    const seededCdr = byId(seeded.tables.cdr);
    const beforeCdr = byId(before.tables.cdr);
    const afterCdr = byId(after.tables.cdr);
    expect(afterCdr.size).toBe(2001);
    for (const [id, row] of afterCdr) expect(row).toBe(beforeCdr.get(id) ?? seededCdr.get(id));
    expect(after.tables.voicemails).toEqual(seeded.tables.voicemails);
    expect(after.audio.voicemail).toEqual(seeded.audio.voicemail);
    for (const table of CORE_TABLES) expect(after.tables[table]).toEqual(before.tables[table]);
    expect(after.audio.announcements).toEqual(before.audio.announcements);
    // The CDR sequence was not moved back: the next call gets a new id.
    await db.query(`INSERT INTO ${t('cdr')} (call_id, started_at, ended_at, direction, caller, callee, duration_s, billable_s, disposition, hangup_cause) VALUES ('next', now(), now(), 'internal', '1', '2', 0, 0, 'busy', 17)`);
    // Merging again adds nothing.
    const again = await engine.restore(archiveSar, { restoreId: uniqueName('mg2'), mode: 'merge', lock });
    expect(again.sections[0].tables.map((x) => x.rowsInserted)).toEqual([0, 0]);
    expect(again.sections[0].filesWritten).toBe(0);
  });

  it.each(['voicemail', 'core'])('refuses an archive with one byte flipped in a %s entry, naming the entry, PBX untouched', async (kind) => {
    const bad = join(work.path, `bad-${kind}.sar`);
    const bytes = await readFile(fullSar);
    const entry = kind === 'voicemail' ? Object.keys(seeded.audio.voicemail).sort()[3] : 'core/users.csv';
    // The local header names the entry; its data follows the name and extra field.
    const header = bytes.indexOf(Buffer.from(entry)) - 30;
    expect(bytes.readUInt32LE(header)).toBe(0x04034b50);
    const dataStart = header + 30 + bytes.readUInt16LE(header + 26) + bytes.readUInt16LE(header + 28);
    bytes[dataStart + 60] ^= 0x01;
    await writeFile(bad, bytes);
    await modify();
    const before = await fingerprint();
    const restoreId = uniqueName('bad');

    await expect(engine.preview(bad, { mode: 'replace' })).rejects.toMatchObject({ code: 'invalidArchive', badEntry: entry });
    const err = await engine.restore(bad, { restoreId, mode: 'replace', lock }).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'RestoreRefusedError', code: 'invalidArchive', badEntry: entry });
    expect((err as Error).message).toContain(entry);
    expect(await fingerprint()).toEqual(before);
    expect(await journal(restoreId)).toEqual([]);
    await expect(stat(join(artifactDir(), `safety-${restoreId}.sar`))).rejects.toThrow(/ENOENT/);
    expect(await captures()).toEqual([]);
    // The whole file against its recorded sha256 (the good file, a wrong record).
    await expect(engine.restore(fullSar, { restoreId, mode: 'replace', lock, expectedSha256: '0'.repeat(64) })).rejects.toMatchObject({ code: 'invalidArchive', badEntry: '(archive)' });
    expect(await fingerprint()).toEqual(before);
  });

  it('refuses an archive of another PBX unless allowed', async () => {
    const elsewhere = new RestoreEngine({ target, source, pbxId: 'pbx-elsewhere', artifactDir: artifactDir(), lockRetryMs: 50 });
    await modify();
    const before = await fingerprint();
    const restoreId = uniqueName('other');
    await expect(elsewhere.restore(fullSar, { restoreId, mode: 'replace', lock })).rejects.toMatchObject({ code: 'otherPbx' });
    await expect(elsewhere.preview(fullSar, { mode: 'replace' })).rejects.toMatchObject({ code: 'otherPbx' });
    expect(await fingerprint()).toEqual(before);
    expect(await journal(restoreId)).toEqual([]);
    await elsewhere.restore(fullSar, { restoreId, mode: 'replace', lock, allowOtherPbx: true });
    expect(await fingerprint()).toEqual(seeded);
    await expect(elsewhere.restore(fullSar, { restoreId, mode: 'replace', lock, allowOtherPbx: true })).rejects.toMatchObject({ code: 'alreadyRan' });
  });

  it('waits while backup or archiving holds the maintenance lock, reporting who, then runs', async () => {
    await modify();
    const held = await lock.acquireLease('backup:run-42');
    if (!held.acquired) throw new Error('test lock not acquired');
    const restoreId = uniqueName('wait');
    const events: RestoreProgress[] = [];
    const running = engine.restore(fullSar, { restoreId, mode: 'replace', lock, onProgress: (e) => events.push(e) });
    await expectEventually(() => events.filter((e) => e.phase === 'waiting' && e.heldBy === 'backup:run-42').length >= 3);
    expect(events.every((e) => e.phase === 'waiting')).toBe(true);
    expect(await journal(restoreId)).toEqual([]);
    await held.lease.release();
    await running;
    expect(await fingerprint()).toEqual(seeded);
    expect(events.map((e) => e.phase)).toContain('restoring');
  });

  describe('killed at any point, then recovered', () => {
    const child = join(__dirname, 'ts-child.test-helper.js');
    const helper = join(__dirname, 'restore-crash.test-helper.ts');

    /** Runs a restore in a child process, SIGKILLs it at `step` of `section`. */
    async function restoreAndKill(restoreId: string, section: PbxSection, step: RestoreCheckpoint, mode: RestoreMode, sections: PbxSection[]): Promise<void> {
      const args = { archivePath: fullSar, ...pbx(), artifactDir: artifactDir(), redisUrl: testUrls.redis, lockPrefix, restoreId, section, step, sections, mode };
      const proc = spawn(process.execPath, [child, helper, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      try {
        await expectEventually(() => out.includes(`AT ${step}`) || out.includes('FAILED') || out.includes('COMPLETED'), { timeoutMs: 60_000 });
        if (!out.includes(`AT ${step}`)) throw new Error(`child did not pause at ${step}: ${out}`);
      } finally {
        proc.kill('SIGKILL');
        await exited;
      }
    }

    const cases: [RestoreCheckpoint, RestoreMode, 'old' | 'new'][] = [
      ['journal-opened', 'replace', 'old'],
      ['audio-staged', 'replace', 'old'],
      ['tables-loaded', 'replace', 'old'],
      ['tables-committed', 'replace', 'new'],
      ['audio-half-swapped', 'replace', 'new'],
      ['audio-swapped', 'replace', 'new'],
      ['tables-loaded', 'merge', 'old'],
      ['audio-half-swapped', 'merge', 'new'],
    ];

    it.each(cases)('at %s (%s): the section ends %s, never mixed', async (step, mode, expected) => {
      await modify();
      const old = await fingerprint();
      const sections: PbxSection[] = mode === 'replace' ? ['coreData', 'cdrAndVoicemails', 'announcements'] : ['cdrAndVoicemails'];
      const restoreId = uniqueName(`crash-${step}`);
      // The "new" of a merge: the old state plus what was missing (here, the archive adds rows and files; nothing is replaced).
      let fresh: Fingerprint;
      if (mode === 'replace') {
        fresh = seeded;
      } else {
        await engine.restore(fullSar, { restoreId: uniqueName('probe'), mode: 'merge', lock });
        fresh = await fingerprint();
        await reseed();
        await modify();
      }

      await restoreAndKill(restoreId, 'cdrAndVoicemails', step, mode, sections);
      const recovery = await engine.recover(restoreId, { lock });

      const now = await fingerprint();
      const outcome = expected === 'new' ? 'finished' : 'rolled-back';
      expect(recovery.sections.find((s) => s.section === 'cdrAndVoicemails')?.outcome).toBe(outcome);
      expect(await sectionPrint(now, 'cdrAndVoicemails')).toEqual(await sectionPrint(expected === 'new' ? fresh : old, 'cdrAndVoicemails'));
      if (mode === 'replace') {
        // The section before was restored in full; the one after never started.
        expect(await sectionPrint(now, 'coreData')).toEqual(await sectionPrint(seeded, 'coreData'));
        expect(await sectionPrint(now, 'announcements')).toEqual(await sectionPrint(old, 'announcements'));
        expect(recovery.sections.find((s) => s.section === 'coreData')?.outcome).toBe('already-done');
      }
      expect(await leftovers()).toEqual([]);
      expect(await engine.unfinished()).not.toContain(restoreId);
      await expect(stat(join(artifactDir(), `safety-${restoreId}.sar.partial`))).rejects.toThrow(/ENOENT/);
      // Recovery is idempotent.
      const again = await engine.recover(restoreId, { lock });
      expect(again.sections.find((s) => s.section === 'cdrAndVoicemails')?.outcome).toBe(expected === 'new' ? 'already-done' : 'already-rolled-back');
      expect(again.safetyBackup).toBeNull();
      if (mode === 'replace') {
        // coreData had changed before the kill: recovery packed the safety backup from what was
        // captured before the first change, and restoring it brings back the state before.
        expect(recovery.safetyBackup?.sections).toEqual(['coreData', 'cdrAndVoicemails', 'announcements']);
        await engine.restore(recovery.safetyBackup!.path, { restoreId: uniqueName('undo'), mode: 'replace', lock, expectedSha256: recovery.safetyBackup!.sha256 });
        expect(await fingerprint()).toEqual(old);
      } else {
        expect(recovery.safetyBackup).toBeNull();
      }
      expect(await captures()).toEqual([]);
      await rm(join(artifactDir(), `safety-${restoreId}.sar`), { force: true });
    });
  });

  it('restored, but the safety backup could not be kept: its data stays captured, and recovery (the next start) packs it', async () => {
    await modify();
    const before = await fingerprint();
    const restoreId = uniqueName('keep');
    const result = await engine.restore(fullSar, {
      restoreId,
      mode: 'replace',
      lock,
      onSafetyBackup: async () => {
        throw new Error('database down');
      },
    });
    expect(await fingerprint()).toEqual(seeded);
    expect(result.safetyBackup).toBeNull();
    expect(result.safetyBackupError).toContain('database down');
    expect(await captures()).toEqual([`safety-${restoreId}.capture`]);
    expect(await engine.unfinished()).toContain(restoreId);

    const kept: string[] = [];
    const recovery = await engine.recover(restoreId, { lock, onSafetyBackup: async (b) => void kept.push(b.path) });
    expect(recovery.sections.every((s) => s.outcome === 'already-done')).toBe(true);
    expect(kept).toEqual([recovery.safetyBackup!.path]);
    expect(await captures()).toEqual([]);
    expect(await leftovers()).toEqual([]);
    expect(await engine.unfinished()).not.toContain(restoreId);
    await engine.restore(recovery.safetyBackup!.path, { restoreId: uniqueName('undo'), mode: 'replace', lock });
    expect(await fingerprint()).toEqual(before);
  });

  it('copies a safety backup only where the archive replaces', async () => {
    const restoreId = uniqueName('ann');
    await copyFile(fullSar, join(work.path, 'copy.sar'));
    const result = await engine.restore(join(work.path, 'copy.sar'), { restoreId, mode: 'replace', sections: ['announcements'], lock });
    expect(result.safetyBackup?.sections).toEqual(['announcements']);
    const safety = await verifySar(result.safetyBackup!.path);
    expect(safety.ok && safety.manifest.sections).toEqual(['announcements']);
  });
});

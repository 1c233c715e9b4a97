import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Client } from 'pg';
import { expectEventually, seededPbx, testUrls, uniqueName, type SeededPbx } from '@pbx/testing';
import { migratePbxSchema, PostgresPbxSource, walkFiles } from './index';

const NOW = new Date('2024-06-14T12:00:00Z');
const DAY = 86_400_000;

async function text(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

async function ids(client: Client, schema: string, table: string): Promise<Set<number>> {
  const { rows } = await client.query<{ id: string }>(`SELECT id FROM "${schema}".${table}`);
  return new Set(rows.map((r) => Number(r.id)));
}

async function wavFiles(dir: string): Promise<Set<string>> {
  const files = new Set<string>();
  for await (const f of walkFiles(dir, 'voicemail')) files.add(f.relativePath);
  return files;
}

describe('PostgresPbxSource', () => {
  let pbx: SeededPbx;
  let source: PostgresPbxSource;
  let db: Client;

  beforeAll(async () => {
    pbx = await seededPbx('pbxsrc', { users: 30, cdr: 4000, voicemails: 20, announcements: 3, days: 60, seed: 7, minAudioBytes: 10_000, maxAudioBytes: 30_000, now: NOW });
    source = new PostgresPbxSource({ databaseUrl: testUrls.database, schema: pbx.schema, dataDir: pbx.dataDir, maxConnections: 3 });
    db = new Client({ connectionString: testUrls.database });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await source?.close();
    await pbx?.close();
  });

  it('migrates idempotently and creates a missing schema', async () => {
    expect(await migratePbxSchema({ databaseUrl: testUrls.database, schema: pbx.schema })).toEqual([]);
    const other = uniqueName('pbxmig').toLowerCase();
    try {
      const [a, b] = await Promise.all([
        migratePbxSchema({ databaseUrl: testUrls.database, schema: other }),
        migratePbxSchema({ databaseUrl: testUrls.database, schema: other }),
      ]);
      expect([...a, ...b].sort()).toEqual(['0001_core_tables', '0002_cdr_voicemails', '0003_archive_selections', '0004_restore_journal']);
    } finally {
      await db.query(`DROP SCHEMA IF EXISTS "${other}" CASCADE`);
    }
  });

  it('reports row counts and data dir size', async () => {
    const stats = await source.stats();
    expect(stats.rowCounts).toMatchObject({ users: 30, cdr: 4000, voicemails: 20 });
    expect(stats.rowCounts.chat_messages).toBe(450);
    let bytes = 0;
    for await (const f of walkFiles(pbx.dataDir, '')) bytes += f.size;
    expect(stats.dataDirBytes).toBe(bytes);
    expect(stats.dataDirFiles).toBe(23);
    expect(stats.databaseBytes).toBeGreaterThan(0);
  });

  it('streams tables as CSV with a header and audio files in path order', async () => {
    const users = (await text(await source.openCoreTable('users'))).trimEnd().split('\n');
    expect(users[0]).toBe('id,extension,first_name,last_name,email,login,language,created_at');
    expect(users).toHaveLength(31);
    const vm = (await text(await source.openVoicemailCsv())).trimEnd().split('\n');
    expect(vm).toHaveLength(21);
    const files: string[] = [];
    for await (const f of source.audioFiles('voicemail')) {
      expect((await stat(f.absolutePath)).size).toBe(f.size);
      files.push(f.relativePath);
    }
    expect(files).toHaveLength(20);
    expect([...files].sort()).toEqual(files);
    expect(files.every((f) => /^voicemail\/1\d{3}\/vm-\d{7}\.wav$/.test(f))).toBe(true);
  });

  it('fixes an archive selection, then deletes exactly it, resumably and idempotently', async () => {
    const cutoff = new Date(NOW.getTime() - 30 * DAY);
    const cdrBefore = await ids(db, pbx.schema, 'cdr');
    const vmBefore = await ids(db, pbx.schema, 'voicemails');
    const filesBefore = await wavFiles(pbx.dataDir);
    const { rows: expectedCdr } = await db.query<{ id: string }>(`SELECT id FROM "${pbx.schema}".cdr WHERE started_at < $1`, [cutoff]);
    const { rows: expectedVm } = await db.query<{ id: string; file_name: string }>(
      `SELECT id, file_name FROM "${pbx.schema}".voicemails WHERE received_at < $1`,
      [cutoff],
    );
    expect(expectedCdr.length).toBeGreaterThan(100);
    expect(expectedVm.length).toBeGreaterThan(2);

    const selection = await source.selectArchiveItems('run-1', { cdrOlderThan: cutoff, voicemailsOlderThan: cutoff });
    expect(selection).toMatchObject({ selectionId: 'run-1', cdrCount: expectedCdr.length, voicemailCount: expectedVm.length });

    // Rows arriving later (even old-dated ones) are not part of the fixed set.
    await db.query(
      `INSERT INTO "${pbx.schema}".cdr (call_id, started_at, ended_at, direction, caller, callee, duration_s, billable_s, disposition, hangup_cause)
       VALUES ('late', $1, $1, 'internal', '1000', '1001', 0, 0, 'busy', 17)`,
      [new Date(cutoff.getTime() - 5 * DAY)],
    );
    const lateId = Math.max(...(await ids(db, pbx.schema, 'cdr')));
    // Selecting again with the same id returns the stored set, unchanged.
    expect(await source.selectArchiveItems('run-1', { cdrOlderThan: NOW })).toEqual(selection);

    // Simulated crash: tiny batches, aborted after the second CDR batch and again mid-voicemails.
    const crash1 = new AbortController();
    let batches = 0;
    await expect(
      source.deleteArchived('run-1', { batchSize: 7, signal: crash1.signal, onBatch: () => ++batches === 2 && crash1.abort() }),
    ).rejects.toThrow(/abort/i);
    expect((await ids(db, pbx.schema, 'cdr')).size).toBe(cdrBefore.size + 1 - 14);

    const crash2 = new AbortController();
    await expect(
      source.deleteArchived('run-1', { batchSize: 3, signal: crash2.signal, onBatch: (p) => p.voicemailsDeleted > 0 && crash2.abort() }),
    ).rejects.toThrow(/abort/i);
    expect((await ids(db, pbx.schema, 'voicemails')).size).toBe(vmBefore.size - 3);
    // A crash between unlinking a batch's files and deleting its rows: the file is gone, the row is not.
    const sortedVm = [...expectedVm].sort((a, b) => Number(a.id) - Number(b.id));
    await unlink(join(pbx.dataDir, sortedVm[3].file_name));

    const resumed = await source.deleteArchived('run-1', { batchSize: 2 });
    expect(resumed).toEqual({ cdrDeleted: 0, voicemailsDeleted: expectedVm.length - 3, filesDeleted: expectedVm.length - 4 });

    const expectedCdrIds = new Set(expectedCdr.map((r) => Number(r.id)));
    const expectedVmIds = new Set(expectedVm.map((r) => Number(r.id)));
    const cdrAfter = await ids(db, pbx.schema, 'cdr');
    expect(cdrAfter).toEqual(new Set([...cdrBefore].filter((id) => !expectedCdrIds.has(id)).concat(lateId)));
    expect(await ids(db, pbx.schema, 'voicemails')).toEqual(new Set([...vmBefore].filter((id) => !expectedVmIds.has(id))));
    const deletedFiles = new Set(expectedVm.map((r) => r.file_name));
    expect(await wavFiles(pbx.dataDir)).toEqual(new Set([...filesBefore].filter((f) => !deletedFiles.has(f))));
    expect((await readdir(join(pbx.dataDir, 'announcements'))).length).toBe(3);

    // Idempotent: a further run deletes nothing.
    expect(await source.deleteArchived('run-1')).toEqual({ cdrDeleted: 0, voicemailsDeleted: 0, filesDeleted: 0 });
    expect((await ids(db, pbx.schema, 'cdr')).size).toBe(cdrAfter.size);
  });

  it('survives Postgres dropping its idle connections: told, not crashed, and the next read reconnects', async () => {
    const appName = uniqueName('pbxsrc-drop');
    const errors: Error[] = [];
    const dropped = new PostgresPbxSource({ databaseUrl: testUrls.database, schema: pbx.schema, dataDir: pbx.dataDir, maxConnections: 2, applicationName: appName, onIdleConnectionError: (e) => errors.push(e) });
    try {
      expect((await dropped.stats()).rowCounts.users).toBe(30);
      // Without a listener on the pool this 'error' event would end the process (the packer: 7 of 7).
      const { rows } = await db.query('SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t', [appName]);
      expect(rows[0].n).toBeGreaterThanOrEqual(1);
      await expectEventually(() => errors.length >= 1);
      expect(errors[0].message).toMatch(/terminat/i);
      expect((await dropped.stats()).rowCounts.users).toBe(30);
    } finally {
      await dropped.close();
    }
  });

  it('rejects unknown selections and unsafe selection ids', async () => {
    await expect(source.deleteArchived('never-selected')).rejects.toThrow(/unknown archive selection/);
    await expect(source.selectArchiveItems("x'; DROP TABLE cdr; --", {})).rejects.toThrow(/invalid archive selection id/);
  });
});

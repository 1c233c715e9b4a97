/**
 * Undoing a restore through the public REST API and the five built apps (issue #18, "Safe"): a
 * `replace` restore keeps the PBX as it was before as a run of kind `safety` (listed, downloadable,
 * not a backup of the configuration), and restoring that run puts the PBX back exactly as it was
 * before the first restore: every table row by row, every audio file's sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { PBX_TABLES, seedPbx, walkFiles } from '@pbx/pbx-source';
import { expectEventually, testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

interface Restore { id: string; status: string; error: string | null; safetyRunId: string | null; safetyBackup: { path: string; size: number; sha256: string } | null }
interface Run {
  id: string;
  kind: string;
  status: string;
  configurationId: string | null;
  restoreId: string | null;
  deliveries: unknown[];
  artifact: { fileName: string; size: number | null; sha256: string | null; removedAt: string | null } | null;
}

describe('restore undo, five processes, public API only', () => {
  let e: E2eEnv;
  let pg: Client;
  let backupRunId: string;
  let configurationId: string;

  /** Every PBX table row by row (in a fixed order), every audio file (voicemail, announcements) by sha256. */
  async function fingerprint() {
    const tables: Record<string, string[]> = {};
    for (const t of PBX_TABLES) tables[t] = (await pg.query<{ r: string }>(`SELECT x::text AS r FROM "${e.pbxSchema}".${t} x ORDER BY 1`)).rows.map((r) => r.r);
    const audio: Record<string, string> = {};
    for (const folder of ['voicemail', 'announcements']) {
      for await (const f of walkFiles(e.env.PBX_DATA_DIR, folder)) audio[f.relativePath] = createHash('sha256').update(await readFile(f.absolutePath)).digest('hex');
    }
    return { tables, audio };
  }

  const finalRestore = (id: string) =>
    expectEventually(async () => {
      const { body } = await e.api.request<Restore>('GET', `/api/v1/restores/${id}`);
      return ['succeeded', 'failed', 'rolled_back'].includes(body.status) ? body : null;
    }, { timeoutMs: 120_000, intervalMs: 250, message: `restore ${id} did not finish` });

  beforeAll(async () => {
    e = await createE2eEnv('rundo');
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 10, cdr: 300, voicemails: 4, announcements: 2, minAudioBytes: 20_000, maxAudioBytes: 40_000 });
    pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    await e.start();
    const res = await e.api.request<{ configuration: { id: string }; run: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name: `Undo ${randomBytes(3).toString('hex')}`, reportTo: 'restore-undo-e2e@example.com', interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: true }, destinations: [{ type: 'local' }], action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    configurationId = res.body.configuration.id;
    backupRunId = res.body.run.id;
    await expectEventually(async () => (await e.api.request<Run>('GET', `/api/v1/runs/${backupRunId}`)).body.status === 'succeeded' || null, { timeoutMs: 90_000, intervalMs: 250 });
  });
  afterAll(async () => {
    await pg?.end();
    await e?.teardown();
  });

  it('a replace restore keeps a safety run; restoring that run brings the PBX back to its state before the first restore', async () => {
    const seeded = await fingerprint();
    // The PBX drifts after the backup: rows deleted and changed, a recording gone, an announcement re-recorded.
    await pg.query(`DELETE FROM "${e.pbxSchema}".cdr WHERE id IN (SELECT id FROM "${e.pbxSchema}".cdr ORDER BY id LIMIT 30)`);
    await pg.query(`UPDATE "${e.pbxSchema}".users SET first_name = 'after the backup' WHERE id IN (SELECT id FROM "${e.pbxSchema}".users ORDER BY id LIMIT 3)`);
    const voicemails = Object.keys(seeded.audio).filter((p) => p.startsWith('voicemail/'));
    const announcements = Object.keys(seeded.audio).filter((p) => p.startsWith('announcements/'));
    expect(voicemails.length).toBeGreaterThan(0);
    expect(announcements.length).toBeGreaterThan(0);
    await rm(join(e.env.PBX_DATA_DIR, voicemails[0]!));
    await writeFile(join(e.env.PBX_DATA_DIR, announcements[0]!), randomBytes(25_000));
    const before = await fingerprint();
    expect(before).not.toEqual(seeded);

    // 1. Restore the backup (every section, replace): the PBX is the backed-up one.
    const first = await e.api.request<{ restore: Restore }>('POST', '/api/v1/restores', { source: { runId: backupRunId }, mode: 'replace' });
    expect(first.status).toBe(202);
    const restored = await finalRestore(first.body.restore.id);
    expect(restored).toMatchObject({ status: 'succeeded', error: null, safetyRunId: expect.any(String) });
    expect(await fingerprint()).toEqual(seeded);

    // 2. Its safety backup is a run of kind safety: listed by kind, linked to the restore, never delivered.
    const safety = await e.api.request<{ items: Run[]; total: number }>('GET', '/api/v1/runs?kind=safety');
    expect(safety.status).toBe(200);
    expect(safety.body.items).toEqual([
      expect.objectContaining({
        id: restored.safetyRunId, kind: 'safety', status: 'succeeded', configurationId: null, restoreId: restored.id, deliveries: [],
        artifact: expect.objectContaining({ size: restored.safetyBackup!.size, sha256: restored.safetyBackup!.sha256, removedAt: null }),
      }),
    ]);
    // Not a run of the configuration: its last run (and so its last success, staleness, metrics) is still the backup.
    const ofConfiguration = await e.api.request<{ items: Run[] }>('GET', `/api/v1/runs?configurationId=${configurationId}`);
    expect(ofConfiguration.body.items.map((r) => r.id)).toEqual([backupRunId]);
    const configuration = await e.api.request<{ lastRun: { id: string } | null }>('GET', `/api/v1/backup-configurations/${configurationId}`);
    expect(configuration.body.lastRun?.id).toBe(backupRunId);

    // 3. Downloadable like any run's archive, whole.
    const download = await fetch(`${e.stack.apiUrl}/api/v1/runs/${restored.safetyRunId}/download`, { headers: { authorization: `Bearer ${e.admin}` } });
    expect(download.status).toBe(200);
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.length).toBe(restored.safetyBackup!.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(restored.safetyBackup!.sha256);
    expect(download.headers.get('x-checksum-sha256')).toBe(restored.safetyBackup!.sha256);

    // 4. Undo: restore the safety run. The PBX is exactly as it was before the first restore.
    const undo = await e.api.request<{ restore: Restore }>('POST', '/api/v1/restores', { source: { runId: restored.safetyRunId }, mode: 'replace' });
    expect(undo.status).toBe(202);
    const undone = await finalRestore(undo.body.restore.id);
    expect(undone).toMatchObject({ status: 'succeeded', error: null });
    expect(await fingerprint()).toEqual(before);
    // The undo kept its own safety run (so it can be undone in turn).
    expect(undone.safetyRunId).toEqual(expect.any(String));
    expect(undone.safetyRunId).not.toBe(restored.safetyRunId);
    const both = await e.api.request<{ items: Run[] }>('GET', '/api/v1/runs?kind=safety');
    expect(both.body.items.map((r) => r.restoreId).sort()).toEqual([restored.id, undone.id].sort());
  });
});

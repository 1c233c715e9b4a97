/**
 * Issue #18's crash proof: the packer is killed (SIGKILL) in the middle of each section of a
 * restore — core data before its transaction commits, CDRs and voicemails half-way through the
 * audio folder swap, announcements with the audio staged and again half-way through the swap —
 * then restarted. Every section is then entirely as before or entirely restored (each table row
 * by row in key order, each audio file's sha256), the restore is closed saying per section
 * which, with its event, and the maintenance lock is free. The packer stops at the chosen step
 * through the test-only RESTORE_TEST_PAUSE_AT; built apps as processes, public REST API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { MaintenanceLock } from '@pbx/locking';
import { CORE_TABLES, seedPbx, walkFiles } from '@pbx/pbx-source';
import { expectEventually, testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

interface Section { name: string; status: string; recovery?: string }
interface Restore { id: string; status: string; phase: string | null; error: string | null; sections: Section[]; safetyBackup: { path: string } | null }

const ORDER: Record<string, string> = { group_members: 'group_id, user_id' };
type Print = Record<'core' | 'cdr' | 'announcements', unknown>;

describe('restore: packer killed mid-section, restarted', () => {
  let e: E2eEnv;
  let pg: Client;
  let lock: MaintenanceLock;
  let runId: string;
  /** The PBX as backed up (the archive's content) and as changed afterwards. */
  let seeded: Print;
  let changed: Print;

  const t = (table: string) => `"${e.pbxSchema}".${table}`;

  async function rows(table: string): Promise<string[]> {
    return (await pg.query<{ r: string }>(`SELECT x::text AS r FROM ${t(table)} x ORDER BY ${ORDER[table] ?? 'id'}`)).rows.map((r) => r.r);
  }

  async function audio(folder: string): Promise<Record<string, string>> {
    const files: Record<string, string> = {};
    for await (const f of walkFiles(e.env.PBX_DATA_DIR, folder)) files[f.relativePath] = createHash('sha256').update(await readFile(f.absolutePath)).digest('hex');
    return files;
  }

  /** Per section, everything a restore may change. */
  async function print(): Promise<Print> {
    const core: Record<string, string[]> = {};
    for (const table of CORE_TABLES) core[table] = await rows(table);
    return { core, cdr: { cdr: await rows('cdr'), voicemails: await rows('voicemails'), audio: await audio('voicemail') }, announcements: await audio('announcements') };
  }

  /** Changes every section: rows updated and deleted, recordings changed, removed and added. */
  async function change(): Promise<void> {
    await pg.query(`UPDATE ${t('users')} SET first_name = first_name || '-changed' WHERE id IN (SELECT id FROM ${t('users')} ORDER BY id LIMIT 3)`);
    await pg.query(`DELETE FROM ${t('chat_messages')} WHERE id IN (SELECT id FROM ${t('chat_messages')} ORDER BY id LIMIT 5)`);
    await pg.query(`DELETE FROM ${t('cdr')} WHERE id IN (SELECT id FROM ${t('cdr')} ORDER BY id LIMIT 40)`);
    const vm = Object.keys((seeded.cdr as { audio: Record<string, string> }).audio).sort();
    await rm(join(e.env.PBX_DATA_DIR, vm[0]!));
    await writeFile(join(e.env.PBX_DATA_DIR, vm[1]!), randomBytes(5000));
    await writeFile(join(e.env.PBX_DATA_DIR, 'voicemail', 'stray.wav'), randomBytes(3000));
    const ann = (await readdir(join(e.env.PBX_DATA_DIR, 'announcements'))).sort();
    await writeFile(join(e.env.PBX_DATA_DIR, 'announcements', ann[0]!), randomBytes(4000));
    await writeFile(join(e.env.PBX_DATA_DIR, 'announcements', 'extra.wav'), randomBytes(2000));
  }

  /** The packer's log lines (JSON) that say it paused restore `id`. */
  function pausedAt(id: string): string | null {
    const log = readFileSync(join(e.dir, 'packer.log'), 'utf8');
    for (const line of log.split('\n')) {
      if (!line.includes('RESTORE_TEST_PAUSE_AT') || !line.includes(id)) continue;
      return (JSON.parse(line) as { at: string }).at;
    }
    return null;
  }

  const finalRestore = (id: string) =>
    expectEventually(async () => {
      const { body } = await e.api.request<Restore>('GET', `/api/v1/restores/${id}`);
      if (['succeeded', 'failed', 'rolled_back'].includes(body.status)) return body;
      throw new Error(`still ${body.status} (${body.phase})`);
    }, { timeoutMs: 90_000, intervalMs: 250, message: `restore ${id} was not closed after the restart` });

  /** Starts a full replace restore of the run, kills the packer at `at`, restarts it; the closed restore. */
  async function restoreKilledAt(at: string): Promise<Restore> {
    e.stack.setAppEnv('packer', { RESTORE_TEST_PAUSE_AT: at });
    await e.stack.restart('packer');
    const started = await e.api.request<{ restore: Restore }>('POST', '/api/v1/restores', { source: { runId }, mode: 'replace' });
    expect(started.status).toBe(202);
    const id = started.body.restore.id;
    await expectEventually(() => pausedAt(id) === at || null, { timeoutMs: 60_000, intervalMs: 100, message: `the packer did not reach ${at}` });
    await e.stack.kill('packer');
    // Killed mid-restore: the row is open and the dead restorer's lease still holds the PBX.
    expect((await e.api.request<Restore>('GET', `/api/v1/restores/${id}`)).body.status).toBe('restoring');
    expect(await lock.currentHolder()).toBe(`restore:${id}`);

    e.stack.setAppEnv('packer', {});
    await e.stack.spawn('packer');
    await e.stack.waitHealthy('packer');
    const done = await finalRestore(id);
    expect(await lock.currentHolder()).toBeNull();
    // Nothing staged is left beside the live folders.
    expect(readdirSync(e.env.PBX_DATA_DIR).filter((n) => n.includes('.restore-'))).toEqual([]);
    // The outcome's event (the notifier mails it), once.
    const events = await pg.query<{ type: string }>(`SELECT type FROM "${e.schema}".outbox WHERE correlation_id = $1 AND type LIKE 'restore.%' ORDER BY created_at`, [id]);
    expect(events.rows.map((r) => r.type)).toEqual(['restore.requested', done.status === 'succeeded' ? 'restore.succeeded' : 'restore.failed']);
    return done;
  }

  const section = (r: Restore, name: string) => r.sections.find((s) => s.name === name);

  beforeAll(async () => {
    e = await createE2eEnv('rkill');
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 10, cdr: 400, voicemails: 6, announcements: 3, minAudioBytes: 20_000, maxAudioBytes: 40_000 });
    pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    lock = new MaintenanceLock(e.redis, { key: e.lockKey, ttlMs: 4000 });
    await e.start(['api', 'scheduler', 'packer', 'dispatcher']);
    const res = await e.api.request<{ run: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name: `Restore kill ${randomBytes(3).toString('hex')}`, reportTo: 'restore-kill@example.com', interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: true }, destinations: [{ type: 'local' }], action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    runId = res.body.run.id;
    await expectEventually(async () => (await e.api.request<{ status: string }>('GET', `/api/v1/runs/${runId}`)).body.status === 'succeeded' || null, { timeoutMs: 90_000, intervalMs: 250 });
    seeded = await print();
    await change();
    changed = await print();
    expect(changed.core).not.toEqual(seeded.core);
    expect(changed.cdr).not.toEqual(seeded.cdr);
    expect(changed.announcements).not.toEqual(seeded.announcements);
  }, 180_000);

  afterAll(async () => {
    await pg?.end();
    await e?.teardown();
  });

  it('core data killed with its tables loaded but not committed: rolled back, the later sections never started', async () => {
    const r = await restoreKilledAt('coreData:tables-loaded');
    expect(r.status).toBe('rolled_back');
    expect(section(r, 'coreData')).toMatchObject({ status: 'rolled-back', recovery: 'rolled-back' });
    expect(section(r, 'cdrAndVoicemails')).toMatchObject({ status: 'pending', recovery: 'not-started' });
    expect(section(r, 'announcements')).toMatchObject({ status: 'pending', recovery: 'not-started' });
    expect(r.error).toMatch(/coreData rolled-back/);
    expect(await print()).toEqual(changed);
  });

  it('CDRs and voicemails killed half-way through the audio swap: completed on restart; core data was restored before; announcements not started', async () => {
    const r = await restoreKilledAt('cdrAndVoicemails:audio-half-swapped');
    expect(r.status).toBe('failed');
    expect(section(r, 'coreData')).toEqual(expect.objectContaining({ status: 'restored' }));
    expect(section(r, 'coreData')?.recovery).toBeUndefined();
    expect(section(r, 'cdrAndVoicemails')).toMatchObject({ status: 'restored', recovery: 'completed' });
    expect(section(r, 'announcements')).toMatchObject({ status: 'pending', recovery: 'not-started' });
    expect(r.error).toMatch(/cdrAndVoicemails completed by recovery/);
    expect(await print()).toEqual({ core: seeded.core, cdr: seeded.cdr, announcements: changed.announcements });
  });

  it('announcements killed with the audio staged: rolled back', async () => {
    const r = await restoreKilledAt('announcements:audio-staged');
    expect(r.status).toBe('rolled_back');
    expect(section(r, 'announcements')).toMatchObject({ status: 'rolled-back', recovery: 'rolled-back' });
    expect(await print()).toEqual({ core: seeded.core, cdr: seeded.cdr, announcements: changed.announcements });
  });

  it('announcements killed half-way through the audio swap: completed, the restore succeeded and its safety backup is recorded', async () => {
    const r = await restoreKilledAt('announcements:audio-half-swapped');
    expect(r.status).toBe('succeeded');
    expect(r.error).toBeNull();
    expect(section(r, 'announcements')).toMatchObject({ status: 'restored', recovery: 'completed' });
    expect(r.safetyBackup).toEqual(expect.objectContaining({ path: expect.any(String) }));
    expect(await print()).toEqual(seeded);
  });
});

/**
 * PBX archiving ("Archivierung") end to end: the five built apps as processes, archive
 * configurations created through the REST API, the PBX in a real Postgres schema + data dir.
 * Proves that exactly the selected items end up in the .sar and are deleted only after every
 * destination confirmed it, and that archiving and backups exclude each other via the
 * maintenance lock in the real Redis.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { MaintenanceLock } from '@pbx/locking';
import { seedPbx } from '@pbx/pbx-source';
import { listSar, openSarEntry } from '@pbx/sar';
import { expectEventually, testUrls, uniqueName } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';
import type { ApiClient, Stack } from './stack';

interface Delivery { type: string; target: string; status: string; code: string | null }
interface Deferral { at: string; until: string; heldBy: string | null }
interface Run {
  id: string; kind: string; status: string; deferrals: Deferral[]; startedAt: string | null; packedAt: string | null; finishedAt: string | null;
  artifact: { fileName: string } | null; counts: Record<string, number> | null; deliveries: Delivery[]; error: string | null;
}
interface CdrRow { id: number; at: number }
interface VoicemailRow { id: number; at: number; file: string }

const DAY_MS = 86_400_000;
const FINAL = ['succeeded', 'partially_failed', 'failed'];
const ms = (iso: string | null) => new Date(iso!).getTime();
const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

/** The first column (the id) of every data row of a CSV entry (quote-aware: fields may hold commas and newlines). */
async function csvIds(file: string, entry: string): Promise<number[]> {
  let text = '';
  for await (const chunk of await openSarEntry(file, entry)) text += (chunk as Buffer).toString('utf8');
  const firstFields: string[] = [];
  let field = '';
  let inQuotes = false;
  let column = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"' && text[i + 1] === '"') i++;
      else if (c === '"') inQuotes = false;
      else if (column === 0) field += c;
    } else if (c === '"') inQuotes = true;
    else if (c === ',') {
      if (column === 0) firstFields.push(field);
      column++;
    } else if (c === '\n') {
      if (column === 0) firstFields.push(field);
      field = '';
      column = 0;
    } else if (column === 0 && c !== '\r') field += c;
  }
  if (column > 0 || field) firstFields.push(field);
  expect(firstFields[0]).toBe('id');
  return firstFields.slice(1).map(Number);
}

describe('PBX archiving, five processes, public API only', () => {
  let e: E2eEnv;
  let stack: Stack;
  let api: ApiClient;
  let env: Record<string, string>;
  let lock: MaintenanceLock;
  let pg: Client;

  beforeAll(async () => {
    e = await createE2eEnv('arc', {
      AMQP_RETRY_DELAY_MS: '100',
      AMQP_MAX_ATTEMPTS: '2',
      // Unmounted USB devices fail (mountfail): that is the failing destination here.
      USB_ALLOW_UNMOUNTED: 'false',
      MAINTENANCE_DEFER_MS: '2000',
    });
    ({ env, stack } = e);
    lock = new MaintenanceLock(e.redis, { key: e.lockKey, ttlMs: 10_000 });
    pg = new Client({ connectionString: testUrls.database, options: '-c TimeZone=UTC' });
    await pg.connect();
    await e.start();
    api = e.api;
  });

  afterAll(async () => {
    await e?.teardown();
    await pg?.end();
  });

  /** A fresh PBX for every test: items spread over the last 60 days. No run may be in flight. */
  async function reseed(): Promise<void> {
    await seedPbx({
      databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: env.PBX_DATA_DIR, reset: true,
      users: 5, cdr: 300, voicemails: 16, announcements: 1, days: 60, minAudioBytes: 4_000, maxAudioBytes: 8_000,
    });
  }

  async function pbxItems(): Promise<{ cdr: CdrRow[]; voicemails: VoicemailRow[] }> {
    const s = `"${e.pbxSchema}"`;
    const cdr = await pg.query<{ id: string; started_at: Date }>(`SELECT id, started_at FROM ${s}.cdr ORDER BY id`);
    const vm = await pg.query<{ id: string; received_at: Date; file_name: string }>(`SELECT id, received_at, file_name FROM ${s}.voicemails ORDER BY id`);
    return {
      cdr: cdr.rows.map((r) => ({ id: Number(r.id), at: r.started_at.getTime() })),
      voicemails: vm.rows.map((r) => ({ id: Number(r.id), at: r.received_at.getTime(), file: r.file_name })),
    };
  }

  const getRun = async (id: string) => (await api.request<Run>('GET', `/api/v1/runs/${id}`)).body;

  async function finalRun(id: string, timeoutMs = 60_000): Promise<Run> {
    return expectEventually(async () => {
      const run = await getRun(id);
      return FINAL.includes(run.status) ? run : null;
    }, { timeoutMs, intervalMs: 200, message: `run ${id} did not finish` });
  }

  async function runInStatus(id: string, status: string, timeoutMs = 30_000): Promise<Run> {
    return expectEventually(async () => {
      const run = await getRun(id);
      if (FINAL.includes(run.status) && run.status !== status) throw new Error(`run ${id} ended ${run.status}: ${run.error}`);
      return run.status === status ? run : null;
    }, { timeoutMs, intervalMs: 100, message: `run ${id} never reached ${status}` });
  }

  async function startArchive(name: string, daysToKeep: number, destinations: object[]): Promise<string> {
    const res = await api.request<{ run: Run }>('POST', '/api/v1/archive-configurations', {
      name, reportTo: 'archive-ops@example.com', interval: 'manual',
      items: { cdr: { enabled: true, daysToKeep }, voicemails: { enabled: true, daysToKeep } },
      destinations, action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    expect(res.body.run.kind).toBe('archive');
    return res.body.run.id;
  }

  async function startBackup(name: string): Promise<string> {
    const res = await api.request<{ run: Run }>('POST', '/api/v1/backup-configurations', {
      name, reportTo: 'backup-ops@example.com', interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: false },
      destinations: [{ type: 'local' }], action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    return res.body.run.id;
  }

  /** Split of a snapshot at the run's own cutoffs (recorded in the .sar manifest). */
  function split(before: Awaited<ReturnType<typeof pbxItems>>, cdrCut: number, vmCut: number) {
    const oldCdr = before.cdr.filter((r) => r.at < cdrCut);
    const oldVm = before.voicemails.filter((r) => r.at < vmCut);
    return {
      oldCdr, oldVm,
      newCdr: before.cdr.filter((r) => r.at >= cdrCut),
      newVm: before.voicemails.filter((r) => r.at >= vmCut),
    };
  }

  /** The PBX holds exactly `expected` (rows and voicemail files); the archived voicemails' files are gone. */
  async function expectPbxHolds(expected: { newCdr: CdrRow[]; newVm: VoicemailRow[]; oldVm: VoicemailRow[] }): Promise<void> {
    const now = await pbxItems();
    expect(now.cdr.map((r) => r.id)).toEqual(sorted(expected.newCdr.map((r) => r.id)));
    expect(now.voicemails.map((r) => r.id)).toEqual(sorted(expected.newVm.map((r) => r.id)));
    for (const v of expected.newVm) expect(existsSync(join(env.PBX_DATA_DIR, v.file))).toBe(true);
    for (const v of expected.oldVm) expect(existsSync(join(env.PBX_DATA_DIR, v.file))).toBe(false);
  }

  async function expectPbxUnchanged(before: Awaited<ReturnType<typeof pbxItems>>): Promise<void> {
    expect(await pbxItems()).toEqual(before);
    for (const v of before.voicemails) expect(existsSync(join(env.PBX_DATA_DIR, v.file))).toBe(true);
  }

  const lockFree = () => expectEventually(async () => (await lock.currentHolder()) === null, { timeoutMs: 10_000, message: 'maintenance lock still held' });

  it('archives CDRs and voicemails older than 30 days: the .sar holds exactly them, they are gone from the PBX, newer ones untouched', async () => {
    await reseed();
    const before = await pbxItems();
    const name = `Archive30 ${randomBytes(3).toString('hex')}`;
    const t0 = Date.now();
    const runId = await startArchive(name, 30, [{ type: 'local' }]);
    const run = await finalRun(runId);
    const t1 = Date.now();
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.deliveries.map((d) => `${d.type}:${d.status}`)).toEqual(['local:succeeded']);

    const file = join(env.LOCAL_BACKUP_ROOT, 'starface-backup', name, run.artifact!.fileName);
    const { manifest, entries } = await listSar(file);
    expect(manifest.kind).toBe('archive');
    expect([...manifest.sections].sort()).toEqual(['cdr', 'voicemail']);
    expect(manifest.archive?.selectionId).toBe(runId);
    const cdrCut = ms(manifest.archive!.cdrOlderThan);
    const vmCut = ms(manifest.archive!.voicemailsOlderThan);
    // The cutoff is "30 days before the moment the archiver selected", which lies within the run.
    for (const cut of [cdrCut, vmCut]) {
      expect(cut).toBeGreaterThanOrEqual(t0 - 30 * DAY_MS);
      expect(cut).toBeLessThanOrEqual(t1 - 30 * DAY_MS);
    }
    const parts = split(before, cdrCut, vmCut);
    // Both sides non-empty, or the test could not tell "exactly the old ones" from "all" or "none".
    for (const list of [parts.oldCdr, parts.newCdr, parts.oldVm, parts.newVm]) expect(list.length).toBeGreaterThan(0);

    expect(await csvIds(file, 'cdr/cdr.csv')).toEqual(sorted(parts.oldCdr.map((r) => r.id)));
    expect(await csvIds(file, 'voicemail/voicemails.csv')).toEqual(sorted(parts.oldVm.map((r) => r.id)));
    const audio = entries.map((e) => e.path).filter((p) => p.startsWith('voicemail/') && p.endsWith('.wav'));
    expect(audio.sort()).toEqual(parts.oldVm.map((v) => v.file).sort());
    expect(entries.some((e) => e.path.startsWith('core/') || e.path.startsWith('announcements/'))).toBe(false);

    await expectPbxHolds(parts);
    expect(run.counts).toMatchObject({
      archivedCdr: parts.oldCdr.length,
      archivedVoicemails: parts.oldVm.length,
      cdrDeleted: parts.oldCdr.length,
      voicemailsDeleted: parts.oldVm.length,
      filesDeleted: parts.oldVm.length,
    });
    expect(run.counts!.pbxBytesBefore).toBeGreaterThan(0);
    expect(run.counts!.pbxBytesAfter).toBeGreaterThan(0);
    expect(run.counts!.pbxBytesAfter).toBeLessThan(run.counts!.pbxBytesBefore);
    await lockFree();
  });

  it('a failing destination next to a good one: nothing is deleted from the PBX, the run is partially_failed, the lock is released', async () => {
    await reseed();
    const before = await pbxItems();
    const name = `ArchiveBadUsb ${randomBytes(3).toString('hex')}`;
    const runId = await startArchive(name, 30, [{ type: 'local' }, { type: 'usb', device: 'absent' }]);
    const run = await finalRun(runId);
    expect(run.status).toBe('partially_failed');
    expect(run.deliveries.map((d) => `${d.type}:${d.status}:${d.code}`).sort()).toEqual(['local:succeeded:successful', 'usb:failed:mountfail']);
    expect(run.error).toMatch(/nothing was deleted/);
    expect(existsSync(join(env.LOCAL_BACKUP_ROOT, 'starface-backup', name, run.artifact!.fileName))).toBe(true);
    expect(run.counts?.archivedCdr).toBeGreaterThan(0);
    expect(run.counts?.cdrDeleted).toBeUndefined();
    await expectPbxUnchanged(before);
    await lockFree();
  });

  it('a backup holding the maintenance lock defers the archive run by MAINTENANCE_DEFER_MS; it runs only after the lock is released', async () => {
    await reseed();
    const before = await pbxItems();
    const holder = `backup:${uniqueName('e2e-holder')}`;
    const held = await lock.acquireLease(holder);
    expect(held.acquired).toBe(true);
    let releasedAt = Number.POSITIVE_INFINITY;
    try {
      const runId = await startArchive(`ArchiveDeferred ${randomBytes(3).toString('hex')}`, 30, [{ type: 'local' }]);
      // Two deferrals: the run keeps waiting as long as the backup holds the lock.
      const waiting = await expectEventually(async () => {
        const run = await getRun(runId);
        return run.deferrals.length >= 2 ? run : null;
      }, { timeoutMs: 20_000, intervalMs: 100 });
      expect(waiting.startedAt).toBeNull();
      await expectPbxUnchanged(before);
      if (held.acquired) await held.lease.release();
      releasedAt = Date.now();

      const run = await finalRun(runId);
      expect(run.status).toBe('succeeded');
      expect(run.deferrals.length).toBeGreaterThanOrEqual(2);
      for (const d of run.deferrals) {
        expect(d.heldBy).toBe(holder);
        const delay = ms(d.until) - ms(d.at);
        expect(delay).toBeGreaterThanOrEqual(2000);
        expect(delay).toBeLessThan(2500);
      }
      expect(ms(run.startedAt)).toBeGreaterThanOrEqual(releasedAt);
      expect(ms(run.startedAt)).toBeGreaterThanOrEqual(ms(run.deferrals[run.deferrals.length - 1].until) - 100);
      expect(run.counts?.cdrDeleted).toBeGreaterThan(0);
    } finally {
      if (held.acquired) await held.lease.release();
    }
    await lockFree();
  });

  it('archiving holds the lock from packing to deletion: a backup started meanwhile is deferred and runs after the archive finished', async () => {
    await reseed();
    // No dispatcher: the archive stays between packing and deletion as long as we like.
    await stack.kill('dispatcher');
    const archiveId = await startArchive(`ArchiveHolds ${randomBytes(3).toString('hex')}`, 30, [{ type: 'local' }]);
    const packed = await runInStatus(archiveId, 'dispatching');
    expect(packed.packedAt).not.toBeNull();
    expect(await lock.currentHolder()).toBe(`archive:${archiveId}`);

    const backupId = await startBackup(`BackupWaits ${randomBytes(3).toString('hex')}`);
    // Longer than the lock's ttl (4 s): the archiver keeps its lease alive across the delivery wait.
    await expectEventually(async () => (await getRun(backupId)).deferrals.length >= 3, { timeoutMs: 30_000, intervalMs: 100 });
    expect((await getRun(backupId)).startedAt).toBeNull();
    expect((await getRun(archiveId)).status).toBe('dispatching');

    await stack.spawn('dispatcher');
    await stack.waitHealthy('dispatcher');
    const archive = await finalRun(archiveId);
    const backup = await finalRun(backupId);
    expect(archive.status).toBe('succeeded');
    expect(backup.status).toBe('succeeded');
    expect(backup.deferrals.length).toBeGreaterThanOrEqual(3);
    for (const d of backup.deferrals) expect(d.heldBy).toBe(`archive:${archiveId}`);
    // Never both at once: the backup started packing only after the archive had deleted and finished.
    expect(ms(backup.deferrals[0].at)).toBeGreaterThanOrEqual(ms(archive.packedAt));
    expect(ms(backup.startedAt)).toBeGreaterThanOrEqual(ms(archive.finishedAt));
    expect(ms(archive.startedAt)).toBeLessThan(ms(backup.deferrals[0].at));
    await lockFree();
  });

  it('packer killed (SIGKILL) between delivery and deletion: after its restart the deletion completes exactly once, nothing else is deleted', async () => {
    await reseed();
    const before = await pbxItems();
    await stack.kill('dispatcher');
    const name = `ArchiveKill ${randomBytes(3).toString('hex')}`;
    const runId = await startArchive(name, 30, [{ type: 'local', path: 'a' }, { type: 'local', path: 'b' }]);
    await runInStatus(runId, 'dispatching');
    // The packer dies holding the lease (and the items not yet deleted).
    await stack.kill('packer');
    await stack.spawn('dispatcher');
    await stack.waitHealthy('dispatcher');
    const delivered = await expectEventually(async () => {
      const run = await getRun(runId);
      return run.deliveries.length === 2 && run.deliveries.every((d) => d.status === 'succeeded') ? run : null;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    expect(delivered.status).toBe('dispatching');
    // archive.delivered is published, waiting in archiver.finalize.v1 for the dead packer.
    await expectEventually(async () => {
      const { rows } = await pg.query(`SELECT 1 FROM "${e.schema}".outbox WHERE type = 'archive.delivered' AND correlation_id = $1 AND published_at IS NOT NULL`, [runId]);
      return rows.length === 1;
    }, { timeoutMs: 15_000 });
    await expectPbxUnchanged(before);

    await stack.spawn('packer');
    await stack.waitHealthy('packer');
    const run = await finalRun(runId);
    expect(run.status).toBe('succeeded');

    const file = join(env.LOCAL_BACKUP_ROOT, 'a', 'starface-backup', name, run.artifact!.fileName);
    const { manifest } = await listSar(file);
    const parts = split(before, ms(manifest.archive!.cdrOlderThan), ms(manifest.archive!.voicemailsOlderThan));
    expect(parts.oldCdr.length).toBeGreaterThan(0);
    expect(await csvIds(file, 'cdr/cdr.csv')).toEqual(sorted(parts.oldCdr.map((r) => r.id)));
    await expectPbxHolds(parts);
    expect(run.counts).toMatchObject({ archivedCdr: parts.oldCdr.length, cdrDeleted: parts.oldCdr.length, voicemailsDeleted: parts.oldVm.length });
    const { rows: ends } = await pg.query<{ type: string }>(
      `SELECT type FROM "${e.schema}".outbox WHERE correlation_id = $1 AND type IN ('archive.succeeded', 'archive.failed')`, [runId],
    );
    expect(ends.map((e) => e.type)).toEqual(['archive.succeeded']);
    await lockFree();
  });
});

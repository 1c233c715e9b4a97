/**
 * Cancelling a run (issue #22) through the REST API with the five built apps: a run waiting for
 * the lock never starts, a packing run stops and leaves no archive behind and frees the lock, a
 * dispatching run stops its upload to a slow Windows share (no partial file there) while the copy
 * already stored locally stays listed; no report is mailed, the notifier logs the cancel.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MaintenanceLock } from '@pbx/locking';
import { seedPbx } from '@pbx/pbx-source';
import { expectEventually, peers, readMaildir, startTcpProxy, testUrls, type TcpProxy } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';
import { enlargeVoicemails, filesIn, partialsIn } from './faults-helpers';

interface Delivery { type: string; status: string; location: string | null; bytesSent?: number }
interface Run { id: string; status: string; deferredUntil: string | null; finishedAt: string | null; artifact: { fileName: string } | null; deliveries: Delivery[] }

const MiB = 1024 * 1024;

describe('cancelling runs, end to end', () => {
  let e: E2eEnv;
  let lock: MaintenanceLock;
  let proxy: TcpProxy;

  beforeAll(async () => {
    // A deferral outlasts the test: only the cancel can end it.
    e = await createE2eEnv('cncl', { MAINTENANCE_DEFER_MS: '600000', MAINTENANCE_LOCK_TTL_MS: '10000' });
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 3, cdr: 200, voicemails: 40, announcements: 0, minAudioBytes: 2000, maxAudioBytes: 4000 });
    // ~200 MiB of voicemail audio: packing takes seconds.
    await enlargeVoicemails(e.pbxSchema, e.env.PBX_DATA_DIR, e.dir, 5 * MiB);
    await e.start();
    lock = new MaintenanceLock(e.redis, { key: e.lockKey, ttlMs: 10_000 });
    // The Windows share behind a link of 2 MiB/s: an upload of the archive takes minutes.
    proxy = await startTcpProxy({ host: peers.host, port: peers.smb.port });
    proxy.throttle(2 * MiB);
  });

  afterAll(async () => {
    await proxy?.close();
    await e?.teardown();
  });

  const getRun = async (id: string): Promise<Run> => (await e.api.request<Run>('GET', `/api/v1/runs/${id}`)).body;
  const cancel = (id: string) => e.api.request<{ run: Run; code?: string }>('POST', `/api/v1/runs/${id}/cancel`);
  async function saveAndRun(name: string, reportTo: string, big: boolean, destinations: unknown[]): Promise<string> {
    const res = await e.api.request<{ run: Run }>('POST', '/api/v1/backup-configurations', {
      name, reportTo, interval: 'manual', data: { coreData: true, cdrAndVoicemails: big, announcements: false }, destinations, action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    return res.body.run.id;
  }
  /** The notifier logged the cancel of `runId` (and so has handled run.cancelled). */
  const notifierLogged = (runId: string) =>
    readFileSync(join(e.dir, 'notifier.log'), 'utf8').split('\n').some((l) => l.includes(runId) && l.includes('run cancelled; no report mailed'));
  async function expectNoMailTo(reportTo: string, runId: string): Promise<void> {
    await expectEventually(() => notifierLogged(runId), { timeoutMs: 30_000, message: 'the notifier did not log the cancel' });
    const mails = await readMaildir();
    expect(mails.filter(({ mail }) => JSON.stringify(mail.to ?? '').includes(reportTo))).toEqual([]);
  }

  it('a run waiting for the lock: cancelled, it never starts; again 202; a finished run is 409 run_finished', async () => {
    const held = await lock.acquireLease('archive:someone-else');
    expect(held.acquired).toBe(true);
    const reportTo = `cancel-wait-${randomBytes(4).toString('hex')}@example.com`;
    const runId = await saveAndRun(`Waiting ${randomBytes(3).toString('hex')}`, reportTo, false, [{ type: 'local' }]);
    await expectEventually(async () => (await getRun(runId)).status === 'deferred', { timeoutMs: 30_000 });

    const res = await cancel(runId);
    expect(res.status).toBe(202);
    expect(res.body.run).toMatchObject({ id: runId, status: 'cancelled', deferredUntil: null, finishedAt: expect.any(String) });
    expect((await cancel(runId)).status).toBe(202);
    if (held.acquired) await held.lease.release();

    // A backup after it runs to its end at once; the cancelled one stays as it was, never packed.
    const after = await saveAndRun(`After ${randomBytes(3).toString('hex')}`, reportTo, false, [{ type: 'local' }]);
    await expectEventually(async () => (await getRun(after)).status === 'succeeded', { timeoutMs: 60_000 });
    expect(await getRun(runId)).toMatchObject({ status: 'cancelled', artifact: null, deliveries: [] });
    const finished = await cancel(after);
    expect(finished.status).toBe(409);
    expect(finished.body.code).toBe('run_finished');
    await expectNoMailTo(reportTo, runId);
  });

  it('a packing run: the packer stops, no archive is left, the lock is free, nothing is delivered', async () => {
    const reportTo = `cancel-pack-${randomBytes(4).toString('hex')}@example.com`;
    const runId = await saveAndRun(`Packing ${randomBytes(3).toString('hex')}`, reportTo, true, [{ type: 'local' }]);
    const partial = join(e.env.ARTIFACT_DIR, `${runId}.sar.partial`);
    await expectEventually(() => existsSync(partial) && statSync(partial).size >= 16 * MiB, { timeoutMs: 60_000, intervalMs: 20 });
    expect(await lock.currentHolder()).toBe(`backup:${runId}`);

    const cancelledAt = Date.now();
    const res = await cancel(runId);
    expect(res.status).toBe(202);
    expect(res.body.run.status).toBe('cancelled');
    await expectEventually(async () => (await lock.currentHolder()) === null && !existsSync(partial), { timeoutMs: 15_000, intervalMs: 50 });
    const stoppedMs = Date.now() - cancelledAt;
    expect(readdirSync(e.env.ARTIFACT_DIR).filter((f) => f.startsWith(runId))).toEqual([]);
    expect(await getRun(runId)).toMatchObject({ status: 'cancelled', artifact: null, deliveries: [] });
    process.stdout.write(`cancel e2e: packing stopped, partial removed and lock released ${stoppedMs} ms after the cancel\n`);
    await expectNoMailTo(reportTo, runId);
  });

  it('a dispatching run: the slow upload is stopped with no partial file at the share, the local copy stays listed', async () => {
    const reportTo = `cancel-deliver-${randomBytes(4).toString('hex')}@example.com`;
    const name = `Delivering ${randomBytes(3).toString('hex')}`;
    const folder = `cancel-${randomBytes(3).toString('hex')}`;
    const smb = { type: 'smb', server: peers.host, port: proxy.port, share: `${peers.smb.share}/${folder}`, username: peers.smb.username, password: peers.smb.password, security: 'ntlmssp' };
    const runId = await saveAndRun(name, reportTo, true, [{ type: 'local' }, smb]);
    await expectEventually(async () => {
      const r = await getRun(runId);
      const [local, share] = r.deliveries;
      return r.status === 'dispatching' && local?.status === 'succeeded' && share?.status === 'pending' && (share.bytesSent ?? 0) > 0;
    }, { timeoutMs: 90_000, intervalMs: 100 });

    const cancelledAt = Date.now();
    const res = await cancel(runId);
    expect(res.status).toBe(202);
    expect(res.body.run.status).toBe('cancelled');
    const smbDir = join(peers.smb.shareDir, folder, 'starface-backup', name);
    const run = await expectEventually(async () => {
      const r = await getRun(runId);
      return r.deliveries[1].status === 'cancelled' && partialsIn(smbDir).length === 0 ? r : null;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const stoppedMs = Date.now() - cancelledAt;
    expect(filesIn(smbDir)).toEqual([]);
    const [local] = run.deliveries;
    expect(local).toMatchObject({ type: 'local', status: 'succeeded', location: `starface-backup/${name}/${run.artifact!.fileName}` });
    expect(existsSync(join(e.env.LOCAL_BACKUP_ROOT, local.location!))).toBe(true);
    expect(run.status).toBe('cancelled');
    process.stdout.write(`cancel e2e: SMB upload stopped and its partial file removed ${stoppedMs} ms after the cancel\n`);
    await expectNoMailTo(reportTo, runId);
  });
});

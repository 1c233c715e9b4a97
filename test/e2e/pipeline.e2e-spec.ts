/**
 * The whole pipeline as users run it: the five built apps as separate processes against
 * the real Postgres, RabbitMQ, Redis and test peers (sshd, Samba, SMTP sink, a Dropbox
 * fake), driven only through the public REST API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { MaintenanceLock } from '@pbx/locking';
import { seedPbx } from '@pbx/pbx-source';
import { verifySar } from '@pbx/sar';
import { expectEventually, peers, readMaildir, sftpHostKeyFingerprint, startDropboxFake, testUrls, waitForMail, type DropboxFake } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';
import type { ApiClient, Stack } from './stack';

interface Delivery { destinationId: string; type: string; target: string; status: string; code: string | null; attempts: number; location: string | null; error: string | null }
interface Run { id: string; status: string; trigger: string; configurationName: string; deferredUntil: string | null; deferrals?: unknown[]; artifact: { fileName: string; size: number; sha256: string } | null; deliveries: Delivery[]; startedAt: string | null; error: string | null }

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the whole pipeline, five processes, public API only', () => {
  let e: E2eEnv;
  let stack: Stack;
  let api: ApiClient;
  let env: Record<string, string>;
  let dropbox: DropboxFake;
  let lockKey: string;
  let redis: Redis;

  beforeAll(async () => {
    dropbox = await startDropboxFake();
    e = await createE2eEnv('pipe', {
      USB_ALLOW_UNMOUNTED: 'true',
      DROPBOX_API_BASE: dropbox.url,
      DROPBOX_APP_KEY: dropbox.appKey,
      DROPBOX_APP_SECRET: dropbox.appSecret,
    });
    ({ env, stack, lockKey, redis } = e);
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: env.PBX_DATA_DIR, users: 10, cdr: 2000, voicemails: 6, announcements: 2, minAudioBytes: 20_000, maxAudioBytes: 60_000 });
    mkdirSync(join(e.dir, 'usb', 'stick'), { recursive: true });
    await e.start();
    api = e.api;
  });

  afterAll(async () => {
    await e?.teardown();
    await dropbox?.close();
  });

  async function finalRun(id: string, timeoutMs = 90_000): Promise<Run> {
    return expectEventually(async () => {
      const { body } = await api.request<Run>('GET', `/api/v1/runs/${id}`);
      return ['succeeded', 'partially_failed', 'failed'].includes(body.status) ? body : null;
    }, { timeoutMs, intervalMs: 250, message: `run ${id} did not finish` });
  }

  const base = (name: string) => ({
    name,
    reportTo: `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}@example.com`,
    interval: 'manual',
    data: { coreData: true, cdrAndVoicemails: true, announcements: true },
  });

  it('saveAndRun to all six destination kinds: six identical files in the right places, and the download equals them', async () => {
    const name = `All kinds ${randomBytes(3).toString('hex')}`;
    const mailTo = `e2e-${randomBytes(4).toString('hex')}@example.com`;
    const since = Date.now();
    const res = await api.request<{ configuration: { id: string }; run: Run }>('POST', '/api/v1/backup-configurations', {
      ...base(name),
      destinations: [
        { type: 'local' },
        { type: 'sftp', host: peers.host, port: peers.sftp.port, username: peers.sftp.username, password: peers.sftp.password, path: '.', hostKeyFingerprint: sftpHostKeyFingerprint() },
        { type: 'smb', server: peers.host, port: peers.smb.port, share: peers.smb.share, username: peers.smb.username, password: peers.smb.password, security: 'ntlmssp' },
        { type: 'email', to: mailTo },
        { type: 'dropbox', authorizationCode: dropbox.issueAuthorizationCode(), path: '/pbx' },
        { type: 'usb', device: 'stick' },
      ],
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    const run = await finalRun(res.body.run.id);
    expect(run.deliveries.map((d) => `${d.type}:${d.status}:${d.code}`).sort()).toEqual(
      ['dropbox', 'email', 'local', 'sftp', 'smb', 'usb'].map((t) => `${t}:succeeded:successful`),
    );
    expect(run.status).toBe('succeeded');
    const { fileName, sha256: expected } = run.artifact!;
    expect(fileName).toMatch(new RegExp(`^${name}_\\d{8}-\\d{6}_${run.id.slice(0, 8)}\\.sar$`));

    const downloaded = await api.download(`/api/v1/runs/${run.id}/download`);
    expect(sha256(downloaded)).toBe(expected);
    const rel = join('starface-backup', name, fileName);
    const copies = [
      join(env.LOCAL_BACKUP_ROOT, rel),
      join(peers.sftp.homeDir, rel),
      join(peers.smb.shareDir, rel),
      join(env.USB_MOUNT_ROOT, 'stick', rel),
      dropbox.localPath(`/pbx/${rel}`),
    ];
    for (const file of copies) expect(sha256(readFileSync(file))).toBe(expected);
    const { mail } = await waitForMail((m) => (m.to && 'text' in m.to ? m.to.text : '').includes(mailTo), { since: since - 1000 });
    expect(mail.attachments).toHaveLength(1);
    expect(sha256(mail.attachments[0].content)).toBe(expected);
    const verified = await verifySar(copies[0]);
    expect(verified.ok).toBe(true);
    for (const d of run.deliveries) expect(d.location).toBe(`starface-backup/${name}/${fileName}`);
  });

  it('one bad destination: partially_failed, the failure e-mail names its code, the good destinations have their files', async () => {
    const name = `Partly bad ${randomBytes(3).toString('hex')}`;
    const since = Date.now();
    const res = await api.request<{ run: Run; configuration: { reportTo: string } }>('POST', '/api/v1/backup-configurations', {
      ...base(name),
      data: { coreData: true, cdrAndVoicemails: false, announcements: false },
      destinations: [
        { type: 'local' },
        { type: 'sftp', host: peers.host, port: peers.sftp.port, username: peers.sftp.username, password: 'wrong-password', path: '.', hostKeyFingerprint: sftpHostKeyFingerprint() },
      ],
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    const run = await finalRun(res.body.run.id);
    expect(run.status).toBe('partially_failed');
    const bad = run.deliveries.find((d) => d.type === 'sftp')!;
    expect(bad).toMatchObject({ status: 'failed', code: 'authFailed' });
    expect(existsSync(join(env.LOCAL_BACKUP_ROOT, 'starface-backup', name, run.artifact!.fileName))).toBe(true);
    const reportTo = res.body.configuration.reportTo;
    const { mail } = await waitForMail((m) => (m.to && 'text' in m.to ? m.to.text : '').includes(reportTo), { since: since - 1000, timeoutMs: 30_000 });
    expect(mail.text).toContain('authFailed');
    expect(mail.text).toContain(run.id);
    expect(mail.text).not.toContain('wrong-password');
  });

  it('archiving holds the maintenance lock: the backup run is deferred, then succeeds', async () => {
    const lock = new MaintenanceLock(redis, { key: lockKey, ttlMs: 10_000 });
    const held = await lock.acquireLease('archive:e2e-holder');
    expect(held.acquired).toBe(true);
    const name = `Deferred ${randomBytes(3).toString('hex')}`;
    const res = await api.request<{ run: Run }>('POST', '/api/v1/backup-configurations', { ...base(name), destinations: [{ type: 'local' }], action: 'saveAndRun' });
    const deferred = await expectEventually(async () => {
      const { body } = await api.request<Run>('GET', `/api/v1/runs/${res.body.run.id}`);
      return body.status === 'deferred' ? body : null;
    }, { timeoutMs: 30_000 });
    expect(deferred.deferredUntil).not.toBeNull();
    if (held.acquired) await held.lease.release();
    const run = await finalRun(res.body.run.id);
    expect(run.status).toBe('succeeded');
    expect(new Date(run.startedAt!).getTime()).toBeGreaterThanOrEqual(new Date(deferred.deferredUntil!).getTime() - 200);
  });

  it('runOnly runs once and is never listed; saveAndRun keeps the configuration', async () => {
    const name = `Once ${randomBytes(3).toString('hex')}`;
    const once = await api.request<{ run: Run; configuration?: unknown }>('POST', '/api/v1/backup-configurations', { ...base(name), destinations: [{ type: 'local' }], action: 'runOnly' });
    expect(once.status).toBe(202);
    expect(once.body.configuration).toBeUndefined();
    const run = await finalRun(once.body.run.id);
    expect(run.trigger).toBe('runOnly');
    expect(run.status).toBe('succeeded');
    const list = await api.request<{ items: { name: string }[]; total: number }>('GET', '/api/v1/backup-configurations?limit=100');
    expect(list.body.items.map((c) => c.name)).not.toContain(name);
    const saved = await api.request<{ configuration: { id: string; name: string }; run: Run }>('POST', '/api/v1/backup-configurations', {
      ...base(`${name} kept`), destinations: [{ type: 'local' }], action: 'saveAndRun',
    });
    expect(saved.status).toBe(201);
    expect((await api.request('GET', `/api/v1/backup-configurations/${saved.body.configuration.id}`)).status).toBe(200);
    expect((await finalRun(saved.body.run.id)).status).toBe('succeeded');
  });

  it('a scheduled configuration runs on its own a few seconds after it is saved', async () => {
    const name = `Hourly ${randomBytes(3).toString('hex')}`;
    const startAt = new Date(Date.now() + 4000).toISOString().replace(/\.\d+Z$/, 'Z');
    const res = await api.request<{ configuration: { id: string; nextRunAt: string } }>('POST', '/api/v1/backup-configurations', {
      ...base(name), interval: 'hourly', startAt, destinations: [{ type: 'local' }],
    });
    expect(res.status).toBe(201);
    const run = await expectEventually(async () => {
      const { body } = await api.request<{ items: Run[] }>('GET', `/api/v1/runs?configurationId=${res.body.configuration.id}`);
      return body.items.length ? body.items[0] : null;
    }, { timeoutMs: 30_000 });
    expect(run.trigger).toBe('schedule');
    expect((await finalRun(run.id)).status).toBe('succeeded');
  });

  it('crash: each worker killed with SIGKILL in the middle of a run; every run finishes with exactly one file per destination and one e-mail', async () => {
    const names: string[] = [];
    for (const app of ['packer', 'dispatcher', 'notifier'] as const) {
      const name = `Crash ${app} ${randomBytes(3).toString('hex')}`;
      names.push(name);
      const since = Date.now();
      const res = await api.request<{ run: Run; configuration: { reportTo: string } }>('POST', '/api/v1/backup-configurations', {
        ...base(name),
        data: { coreData: true, cdrAndVoicemails: true, announcements: true },
        destinations: [
          { type: 'local', path: 'a' },
          { type: 'local', path: 'b' },
          { type: 'sftp', host: peers.host, port: peers.sftp.port, username: peers.sftp.username, password: peers.sftp.password, path: '.', hostKeyFingerprint: sftpHostKeyFingerprint() },
          { type: 'usb', device: 'absent' }, // fails: a failure report must be mailed exactly once
        ],
        action: 'saveAndRun',
      });
      // Kill at a random moment while the run is in this app's hands.
      const phase = app === 'packer' ? ['queued', 'packing'] : app === 'dispatcher' ? ['dispatching'] : ['partially_failed'];
      await expectEventually(async () => phase.includes((await api.request<Run>('GET', `/api/v1/runs/${res.body.run.id}`)).body.status), { timeoutMs: 60_000, intervalMs: 20 });
      await stack.restart(app);
      const run = await finalRun(res.body.run.id, 120_000);
      expect(run.status).toBe('partially_failed');
      const file = run.artifact!.fileName;
      for (const dir of [join(env.LOCAL_BACKUP_ROOT, 'a'), join(env.LOCAL_BACKUP_ROOT, 'b'), peers.sftp.homeDir]) {
        expect(readdirSync(join(dir, 'starface-backup', name))).toEqual([file]);
      }
      const reportTo = res.body.configuration.reportTo;
      await waitForMail((m) => (m.to && 'text' in m.to ? m.to.text : '').includes(reportTo), { since: since - 1000, timeoutMs: 60_000 });
      // Give a duplicate every chance to show up: wait until the notifier has acked everything.
      await expectEventually(async () => {
        const { body } = await api.request<{ total: number }>('GET', `/api/v1/dead-letters?runId=${run.id}`);
        return body.total === 0;
      });
      const mails = (await readMaildir(undefined, since - 1000)).filter((m) => (m.mail.to && 'text' in m.mail.to ? m.mail.to.text : '').includes(reportTo));
      expect(mails).toHaveLength(1);
    }
  });
});

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@pbx/observability';
import { RunEntity, type ConfigurationEntity } from '@pbx/persistence';
import { expectEventually, peers, peerSftpDestination, peerSmbDestination, startTcpProxy, uniqueName, type TcpProxy } from '@pbx/testing';
import { dispatcherTestBed } from './dispatcher.test-helper';

const SECRETS_KEY = 'c3'.repeat(32);
const logger = createLogger({ service: 'dispatcher-faults-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * Riding out faults end to end: a real dispatcher delivering to the real OpenSSH peer through
 * a TCP proxy the test takes down or makes stall. Time is scaled down by about 30: the
 * transport's old budget (5 attempts, 2 s doubling = 30 s) becomes 5 attempts from 66 ms (1 s).
 */
describe('delivery faults (real dispatcher, OpenSSH behind a proxy)', () => {
  const bed = dispatcherTestBed('dfl', { logger, secretsKey: SECRETS_KEY, env: {
      // The transport's retries, scaled: ~1 s in all. Delivery failures no longer ride on them.
      AMQP_MAX_ATTEMPTS: 5, AMQP_RETRY_DELAY_MS: 66,
      // The delivery's own policy, scaled: first wait ~170 ms, at most 0.5 s, for a minute.
      DELIVERY_RETRY_FIRST_DELAY_MS: 170, DELIVERY_RETRY_MAX_DELAY_MS: 500, DELIVERY_RETRY_FOR_MS: 60_000,
      DESTINATION_CONNECT_TIMEOUT_MS: 3000, DESTINATION_IDLE_TIMEOUT_MS: 1000,
    } });
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await startTcpProxy({ host: peers.host, port: peers.sftp.port });
  });
  afterEach(async () => {
    await proxy.close();
  });
  const startDispatcher = (overrides?: Record<string, string | number>) => bed.start(overrides);

  /** An SFTP destination through the proxy, in a folder of its own below the peer's login directory. */
  async function sftpConfiguration(password: string = peers.sftp.password) {
    const folder = uniqueName('faults');
    const cfg = await bed.configuration([bed.peerDestination({ ...peerSftpDestination(folder), password }, { port: proxy.port })]);
    return { cfg, folder: join(peers.sftp.homeDir, folder, 'starface-backup', cfg.name) };
  }

  const packedRun = (cfg: ConfigurationEntity, size: number) => bed.packedRun(cfg, { size });
  const runOf = (id: string) => bed.db.dataSource.manager.findOneOrFail(RunEntity, { where: { id }, relations: { deliveries: true } });
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

  it('an SFTP server down for longer than the transport\'s whole retry budget: the delivery waits and succeeds once it is back', async () => {
    await proxy.down();
    await startDispatcher();
    const { cfg, folder } = await sftpConfiguration();
    const { run, sha256, fileName } = await packedRun(cfg, 256 * 1024);
    // More failed attempts than the transport would ever make (5), over more than its ~1 s.
    const waiting = await expectEventually(async () => {
      const r = await runOf(run.id);
      const [d] = r.deliveries!;
      return d.attempts > 5 && d.status === 'pending' && Date.now() - d.failingSince!.getTime() > 1500 ? { r, d } : null;
    }, { timeoutMs: 30_000 });
    expect(waiting.r.status).toBe('dispatching');
    expect(waiting.d).toMatchObject({ code: 'mountfail', nextAttemptAt: expect.any(Date) });

    await proxy.up();
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(done.deliveries).toMatchObject([{ status: 'succeeded', code: 'successful', nextAttemptAt: null }]);
    expect(sha(join(folder, fileName))).toBe(sha256);
  });

  it('a permanent error (wrong password) gives up at once: one attempt, the run fails', async () => {
    await startDispatcher();
    const { cfg } = await sftpConfiguration('not-the-password');
    const { run } = await packedRun(cfg, 64 * 1024);
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'failed' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(done.deliveries).toMatchObject([{ status: 'failed', code: 'authFailed', attempts: 1 }]);
  });

  /** A Windows-share destination (smbclient, SMB3 with signing) through a proxy to the strict Samba peer. */
  async function smbConfiguration(smbProxy: TcpProxy) {
    const folder = uniqueName('faults');
    const cfg = await bed.configuration([bed.peerDestination(peerSmbDestination(folder), { port: smbProxy.port })]);
    return { cfg, folder: join(peers.smb.shareDir, folder, 'starface-backup', cfg.name) };
  }

  it('a Windows share that stops answering mid-transfer: smbclient is stopped at the idle timeout, the next attempt completes, no partial file is left', async () => {
    const smbProxy = await startTcpProxy({ host: peers.host, port: peers.smb.port });
    try {
      smbProxy.stallAfter(512 * 1024);
      await startDispatcher();
      const { cfg, folder } = await smbConfiguration(smbProxy);
      const { run, sha256, fileName } = await packedRun(cfg, 4 * 1024 * 1024);
      const stalled = await expectEventually(async () => {
        const [d] = (await runOf(run.id)).deliveries!;
        return d.status === 'pending' && d.code === 'timeout' ? d : null;
      }, { timeoutMs: 30_000 });
      expect(smbProxy.stalled).toBeGreaterThanOrEqual(1);
      expect(stalled.attempts).toBe(1);

      smbProxy.resume();
      const done = await expectEventually(async () => {
        const r = await runOf(run.id);
        return r.status === 'succeeded' ? r : null;
      }, { timeoutMs: 60_000 });
      expect(done.deliveries![0].attempts).toBeGreaterThanOrEqual(2);
      expect(sha(join(folder, fileName))).toBe(sha256);
      await expectEventually(() => expect(readdirSync(folder)).toEqual([fileName]));
    } finally {
      await smbProxy.close();
    }
  });

  it('a server that stops answering mid-transfer: the idle timeout aborts the attempt, the next one completes, no partial file is left', async () => {
    proxy.stallAfter(512 * 1024);
    await startDispatcher();
    const { cfg, folder } = await sftpConfiguration();
    const { run, sha256, fileName } = await packedRun(cfg, 4 * 1024 * 1024);
    const stalled = await expectEventually(async () => {
      const [d] = (await runOf(run.id)).deliveries!;
      return d.status === 'pending' && d.code === 'timeout' ? d : null;
    }, { timeoutMs: 30_000 });
    expect(proxy.stalled).toBeGreaterThanOrEqual(1);
    expect(stalled.error).toMatch(/nothing moved for 1000 ms/);

    proxy.resume();
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(done.deliveries![0].attempts).toBeGreaterThanOrEqual(2);
    expect(sha(join(folder, fileName))).toBe(sha256);
    await expectEventually(() => expect(readdirSync(folder)).toEqual([fileName]));
  });
});

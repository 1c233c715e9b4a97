import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@pbx/observability';
import { DeliveryEntity, RunLifecycle, type ConfigurationEntity } from '@pbx/persistence';
import { expectEventually, peers, peerSftpDestination, peerSmbDestination, startTcpProxy, uniqueName, type TcpProxy } from '@pbx/testing';
import { dispatcherTestBed } from './dispatcher.test-helper';

const SECRETS_KEY = 'c4'.repeat(32);
const logger = createLogger({ service: 'dispatcher-cancel-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * A run cancelled while it is delivered: a real dispatcher uploading to the strict Samba peer
 * (smbclient) through a proxy that lets 1 MiB/s through, beside a local destination that is
 * done at once.
 */
describe('delivery of a cancelled run (real dispatcher, Samba behind a slow link)', () => {
  const bed = dispatcherTestBed('dcn', { logger, secretsKey: SECRETS_KEY, env: { DESTINATION_CONNECT_TIMEOUT_MS: 5000, DESTINATION_IDLE_TIMEOUT_MS: 30_000 } });
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await startTcpProxy({ host: peers.host, port: peers.smb.port });
  });
  afterEach(async () => {
    await proxy.close();
  });
  const startDispatcher = () => bed.start();

  /** A local destination first, then a Windows share through the proxy, in a folder of its own. */
  async function configuration() {
    const folder = uniqueName('cancel');
    const cfg = await bed.configuration([{ type: 'local', settings: {} }, bed.peerDestination(peerSmbDestination(folder), { port: proxy.port })]);
    return { cfg, smbFolder: join(peers.smb.shareDir, folder, 'starface-backup', cfg.name), localFolder: join(bed.paths.backups, 'starface-backup', cfg.name) };
  }

  const packedRun = (cfg: ConfigurationEntity, size: number) => bed.packedRun(cfg, { size });
  const deliveriesOf = (runId: string) => bed.db.dataSource.manager.find(DeliveryEntity, { where: { runId }, order: { type: 'ASC' } });
  const cancel = (id: string) => bed.db.dataSource.transaction((tx) => new RunLifecycle().transition(tx, id, { to: 'cancelled', error: null }));

  it('the upload in flight stops at its next chunk and its partial file is removed; the copy already stored stays and is listed; no result is announced', async () => {
    proxy.throttle(1024 * 1024);
    await startDispatcher();
    const { cfg, smbFolder, localFolder } = await configuration();
    const { run, fileName } = await packedRun(cfg, 24 * 1024 * 1024); // ~24 s through the slow link
    await expectEventually(async () => {
      const [local, smb] = await deliveriesOf(run.id);
      return local?.status === 'succeeded' && smb?.status === 'running' && smb.bytesSent > 0;
    }, { timeoutMs: 30_000 });

    const cancelledAt = Date.now();
    expect((await cancel(run.id)).applied).toBe(true);
    const [, smb] = await expectEventually(async () => {
      const ds = await deliveriesOf(run.id);
      return ds[1].status === 'cancelled' ? ds : null;
    }, { timeoutMs: 20_000 });
    const abortedAfterMs = Date.now() - cancelledAt;
    logger.info({ abortedAfterMs }, 'measured');
    expect(abortedAfterMs).toBeLessThan(10_000);
    expect(smb.finishedAt).not.toBeNull();
    await expectEventually(() => expect(existsSync(smbFolder) ? readdirSync(smbFolder) : []).toEqual([]), { timeoutMs: 15_000 });
    process.stdout.write(`partial removed after ${Date.now() - cancelledAt} ms\n`);
    expect(readdirSync(localFolder)).toEqual([fileName]);
    const [r] = await bed.db.dataSource.query('SELECT status FROM runs WHERE id = $1', [run.id]);
    expect(r.status).toBe('cancelled');
    const events: string[] = (await bed.db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1`, [run.id])).map((e: { type: string }) => e.type);
    expect(events.filter((t) => t === 'backup.failed' || t === 'backup.succeeded')).toEqual([]);
    process.stdout.write(`cancel → SMB upload aborted and cleaned up in ${abortedAfterMs} ms\n`);
  });

  it('SFTP: the upload in flight through the slow link is aborted and its temp file removed', async () => {
    const sftpProxy = await startTcpProxy({ host: peers.host, port: peers.sftp.port });
    try {
      sftpProxy.throttle(1024 * 1024);
      await startDispatcher();
      const folder = uniqueName('cancel');
      const cfg = await bed.configuration([bed.peerDestination(peerSftpDestination(folder), { port: sftpProxy.port })]);
      const sftpFolder = join(peers.sftp.homeDir, folder, 'starface-backup', cfg.name);
      const { run } = await packedRun(cfg, 24 * 1024 * 1024);
      await expectEventually(async () => {
        const [d] = await deliveriesOf(run.id);
        return d?.status === 'running' && d.bytesSent > 0;
      }, { timeoutMs: 30_000 });
      const cancelledAt = Date.now();
      await cancel(run.id);
      await expectEventually(async () => (await deliveriesOf(run.id))[0].status === 'cancelled', { timeoutMs: 30_000 });
      await expectEventually(() => expect(existsSync(sftpFolder) ? readdirSync(sftpFolder) : []).toEqual([]), { timeoutMs: 30_000 });
      process.stdout.write(`cancel → SFTP upload aborted and cleaned up in ${Date.now() - cancelledAt} ms\n`);
    } finally {
      await sftpProxy.close();
    }
  });

  it('a delivery of a cancelled run whose message comes (again) is not started', async () => {
    const { cfg, smbFolder, localFolder } = await configuration();
    const { run } = await packedRun(cfg, 64 * 1024);
    await cancel(run.id);
    await startDispatcher();
    // backup.packed arrives after the cancel: nothing is planned, nothing uploaded.
    await expectEventually(async () => (await bed.db.dataSource.query('SELECT 1 FROM inbox WHERE message_id IN (SELECT id FROM outbox WHERE correlation_id = $1)', [run.id])).length === 1, { timeoutMs: 20_000 });
    expect(await deliveriesOf(run.id)).toEqual([]);
    expect(existsSync(localFolder)).toBe(false);
    expect(existsSync(smbFolder)).toBe(false);
  });
});

import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { DeliveryEntity, RunEntity } from '@pbx/persistence';
import { expectEventually, peers, peerSftpDestination, uniqueName } from '@pbx/testing';
import { ScheduledVerificationService } from './scheduled-verification.service';
import { dispatcherTestBed } from './dispatcher.test-helper';

const SECRETS_KEY = 'd4'.repeat(32);
const logger = createLogger({ service: 'verification-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Stored copies read back by a real dispatcher from the OpenSSH peer and a local folder. */
describe('verifying stored copies (real dispatcher, OpenSSH peer, local disk)', () => {
  const bed = dispatcherTestBed('vfy', { logger, secretsKey: SECRETS_KEY, env: { AMQP_MAX_ATTEMPTS: 2, AMQP_RETRY_DELAY_MS: 100 } });
  const startDispatcher = (overrides?: Record<string, number>) => bed.start(overrides);

  /** A configuration with an SFTP and a local destination, and a run of it delivered to both. */
  async function deliveredRun(verify: { afterUpload: 'size' | 'sha256'; schedule?: 'daily' } = { afterUpload: 'size' }) {
    const folder = uniqueName('verify');
    const cfg = await bed.configuration([bed.peerDestination(peerSftpDestination(folder)), { type: 'local', settings: { path: 'disk' } }], { verify });
    const { run, fileName } = await bed.packedRun(cfg, { size: 300 * 1024 });
    await expectEventually(async () => (await bed.db.dataSource.manager.findOneByOrFail(RunEntity, { id: run.id })).status === 'succeeded' || null, { timeoutMs: 30_000 });
    return {
      run,
      sftpFile: join(peers.sftp.homeDir, folder, 'starface-backup', cfg.name, fileName),
      localFile: join(bed.paths.backups, 'disk', 'starface-backup', cfg.name, fileName),
    };
  }

  const requestVerify = (runId: string) =>
    bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'backup.verify-requested', { runId, reason: 'manual' }, { correlationId: runId }));
  const verificationsOf = async (runId: string) =>
    Object.fromEntries((await bed.db.dataSource.manager.findBy(DeliveryEntity, { runId })).map((d) => [d.type, d.verification]));

  it('finds untouched copies verified, a byte flipped on the SFTP server a mismatch and a deleted local copy missing, and announces run.verified', async () => {
    await startDispatcher();
    const { run, sftpFile, localFile } = await deliveredRun();
    // verify.afterUpload size (the default): nothing is read back by itself.
    expect(await verificationsOf(run.id)).toEqual({ sftp: null, local: null });

    await requestVerify(run.id);
    await expectEventually(async () => {
      const v = await verificationsOf(run.id);
      return v.sftp === 'verified' && v.local === 'verified' ? v : null;
    }, { timeoutMs: 20_000 });

    const fh = await open(sftpFile, 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 1000);
    await fh.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 1000);
    await fh.close();
    await rm(localFile);

    await requestVerify(run.id);
    await expectEventually(async () => {
      const v = await verificationsOf(run.id);
      return v.sftp === 'mismatch' && v.local === 'missing' ? v : null;
    }, { timeoutMs: 20_000 });
    const delivery = await bed.db.dataSource.manager.findOneByOrFail(DeliveryEntity, { runId: run.id, type: 'sftp' });
    expect(delivery.verifiedAt).toBeInstanceOf(Date);
    const events = await bed.db.dataSource.query(`SELECT payload FROM outbox WHERE type = 'run.verified' AND correlation_id = $1 ORDER BY created_at`, [run.id]);
    expect(events).toHaveLength(2);
    expect((events[1].payload as { results: { result: string }[] }).results.map((r) => r.result).sort()).toEqual(['mismatch', 'missing']);
  });

  it('with verify.afterUpload sha256 reads every new copy back right after its upload', async () => {
    await startDispatcher();
    const { run } = await deliveredRun({ afterUpload: 'sha256' });
    await expectEventually(async () => {
      const v = await verificationsOf(run.id);
      return v.sftp === 'verified' && v.local === 'verified' ? v : null;
    }, { timeoutMs: 20_000 });
    const requested = await bed.db.dataSource.query(`SELECT payload FROM outbox WHERE type = 'backup.verify-requested' AND correlation_id = $1`, [run.id]);
    expect(requested.map((r: { payload: { reason: string; deliveryIds: string[] } }) => [r.payload.reason, r.payload.deliveryIds.length])).toEqual([['afterUpload', 1], ['afterUpload', 1]]);
  });

  it('with verify.schedule reads the newest copy at every destination back once it is due, and asks once per due check', async () => {
    const delivering = await startDispatcher();
    const { run } = await deliveredRun({ afterUpload: 'size', schedule: 'daily' });
    // Uploaded three days ago, never read back: due. Started again with a fast check.
    await bed.db.dataSource.query(`UPDATE deliveries SET finished_at = now() - interval '3 days' WHERE run_id = $1`, [run.id]);
    await delivering.close();
    const first = await startDispatcher({ VERIFY_SCHEDULE_CHECK_MS: 100 });
    await startDispatcher({ VERIFY_SCHEDULE_CHECK_MS: 100 }); // a second replica checks too
    await expectEventually(async () => {
      const v = await verificationsOf(run.id);
      return v.sftp === 'verified' && v.local === 'verified' ? v : null;
    }, { timeoutMs: 20_000 });
    const asked = async () => Number((await bed.db.dataSource.query(`SELECT count(*) AS n FROM outbox WHERE type = 'backup.verify-requested' AND correlation_id = $1`, [run.id]))[0].n);
    expect(await asked()).toBe(2);
    // Checked just now: the next check is tomorrow; a pass meanwhile asks nothing, one tomorrow does.
    const scheduler = first.get(ScheduledVerificationService);
    expect(await scheduler.pass()).toBe(0);
    expect(await scheduler.pass(new Date(Date.now() + 2 * 86_400_000))).toBe(2);
    expect(await asked()).toBe(4);
  });
});

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artifactFileName } from '@pbx/destinations';
import { OutboxWriter, outboxChannel } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { type ConfigurationEntity, DeliveryEntity, DestinationEntity, RunEntity } from '@pbx/persistence';
import { expectEventually } from '@pbx/testing';
import { dispatcherTestBed, type DestinationSeed } from './dispatcher.test-helper';
import { RunFinalizerService } from './run-finalizer.service';

const SECRETS_KEY = 'b2'.repeat(32);
const logger = createLogger({ service: 'dispatcher-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('dispatcher (real Postgres + RabbitMQ, local and USB destinations)', () => {
  const bed = dispatcherTestBed('dsp', {
    logger,
    secretsKey: SECRETS_KEY,
    env: { AMQP_MAX_ATTEMPTS: 2, AMQP_RETRY_DELAY_MS: 100, AMQP_PREFETCH: 4, DELIVERY_MAX_ATTEMPTS: 2, DELIVERY_RETRY_FIRST_DELAY_MS: 50, DELIVERY_RETRY_MAX_DELAY_MS: 100 },
  });
  const startDispatcher = (overrides?: Record<string, string | number | boolean | undefined>) => bed.start(overrides);
  const configuration = (destinations: DestinationSeed[], keepLast: number | null = null, ephemeral = false) => bed.configuration(destinations, { keepLast, ephemeral });
  const localRoot = () => bed.paths.backups;

  /** A packed run; `at` is the name's time stamp, or the run's scheduled time (the name then as the packer makes it). */
  const packedRun = (cfg: ConfigurationEntity, at: string | Date, nameOf = (runId: string) => artifactFileName(cfg.name, at as Date, runId)) =>
    typeof at === 'string' ? bed.packedRun(cfg, { fileName: `${cfg.name}_${at}.sar` }) : bed.packedRun(cfg, { fileName: nameOf, scheduledFor: at });

  const runOf = (id: string) => bed.db.dataSource.manager.findOneOrFail(RunEntity, { where: { id }, relations: { deliveries: true } });
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

  it('delivers to every destination, records each result with its code, and closes the run partially_failed', async () => {
    await startDispatcher();
    const cfg = await configuration([
      { type: 'local', settings: { path: 'a' } },
      { type: 'local', settings: { path: 'b' } },
      { type: 'usb', settings: { device: 'not-plugged-in' } },
    ]);
    const { run, sha256, fileName } = await packedRun(cfg, '20261201-013000');
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'partially_failed' ? r : null;
    }, { timeoutMs: 30_000 });
    const byType = Object.fromEntries(done.deliveries!.map((d) => [`${d.type}:${d.target}`, d]));
    expect(done.deliveries).toHaveLength(3);
    const usb = done.deliveries!.find((d) => d.type === 'usb')!;
    expect(usb).toMatchObject({ status: 'failed', code: 'mountfail', attempts: 2 });
    for (const sub of ['a', 'b']) {
      const file = join(localRoot(), sub, 'starface-backup', cfg.name, fileName);
      expect(sha(file)).toBe(sha256);
    }
    const locals = done.deliveries!.filter((d) => d.type === 'local');
    expect(locals.every((d) => d.status === 'succeeded' && d.code === 'successful' && d.location === `starface-backup/${cfg.name}/${fileName}`)).toBe(true);
    expect(Object.keys(byType)).toHaveLength(3);
    expect(done.error).toMatch(/1 of 3 destinations failed: .*mountfail/);
    const [ev] = await bed.db.dataSource.query(`SELECT payload FROM outbox WHERE correlation_id = $1 AND type = 'backup.failed'`, [run.id]);
    expect(ev.payload).toMatchObject({ status: 'partially_failed', step: 'delivery' });

    // A redelivered backup.packed adds nothing.
    await bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'backup.packed', { runId: run.id, kind: 'backup', artifact: { fileName, size: 262144, sha256 } }, { correlationId: run.id }));
    await expectEventually(async () => {
      const [{ n }] = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM inbox WHERE consumer = 'dispatcher.packed.v1'`);
      expect(n).toBe(2);
    });
    expect(await bed.db.dataSource.manager.count(DeliveryEntity, { where: { runId: run.id } })).toBe(3);
  });

  it('a delivery fails for good after DELIVERY_MAX_ATTEMPTS attempts counted on its row, however often the transport would retry', async () => {
    await startDispatcher({ AMQP_MAX_ATTEMPTS: 4, DELIVERY_MAX_ATTEMPTS: 1 });
    const cfg = await configuration([{ type: 'usb', settings: { device: 'not-plugged-in' } }]);
    const { run } = await packedRun(cfg, '20261201-013000');
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'failed' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(done.deliveries).toMatchObject([{ status: 'failed', code: 'mountfail', attempts: 1 }]);
  });

  it('a transient failure waits on the delivery, far beyond the transport\'s retries, and the delivery succeeds once the destination is back', async () => {
    // The transport would give up after 2 attempts (~0.1 s); the delivery keeps trying for a minute.
    await startDispatcher({ AMQP_MAX_ATTEMPTS: 2, USB_ALLOW_UNMOUNTED: true, DELIVERY_MAX_ATTEMPTS: undefined, DELIVERY_RETRY_FIRST_DELAY_MS: 200, DELIVERY_RETRY_MAX_DELAY_MS: 400, DELIVERY_RETRY_FOR_MS: 60_000 });
    const cfg = await configuration([{ type: 'local', settings: { path: 'a' } }, { type: 'usb', settings: { device: 'stick' } }]);
    const { run, sha256, fileName } = await packedRun(cfg, '20261201-013000');
    const waiting = await expectEventually(async () => {
      const r = await runOf(run.id);
      const usb = r.deliveries!.find((d) => d.type === 'usb')!;
      return usb.attempts >= 4 && usb.status === 'pending' ? { r, usb } : null;
    }, { timeoutMs: 30_000 });
    // The run waits with it; the report shows why and when the next attempt comes.
    expect(waiting.r.status).toBe('dispatching');
    expect(waiting.usb).toMatchObject({ code: 'mountfail', error: expect.stringContaining('not present'), failingSince: expect.any(Date) });
    const [held] = await bed.db.dataSource.query(
      `SELECT available_at FROM outbox WHERE correlation_id = $1 AND type = 'backup.deliver' AND payload->>'deliveryId' = $2 ORDER BY available_at DESC LIMIT 1`,
      [run.id, waiting.usb.id],
    );
    expect(held.available_at.getTime()).toBeGreaterThan(waiting.usb.failingSince!.getTime());
    // More attempts than the transport's 2: each attempt's message was acked, the next one held back in the outbox.

    await mkdir(join(bed.dir, 'usb', 'stick'), { recursive: true }); // plugged in
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 30_000 });
    const usb = done.deliveries!.find((d) => d.type === 'usb')!;
    expect(usb).toMatchObject({ status: 'succeeded', code: 'successful', nextAttemptAt: null });
    expect(usb.attempts).toBeGreaterThan(2);
    expect(sha(join(bed.dir, 'usb', 'stick', 'starface-backup', cfg.name, fileName))).toBe(sha256);
  });

  it('an early copy of a waiting delivery\'s message starts no attempt: the scheduled one does', async () => {
    await startDispatcher({ USB_ALLOW_UNMOUNTED: true, DELIVERY_MAX_ATTEMPTS: undefined, DELIVERY_RETRY_FIRST_DELAY_MS: 60_000, DELIVERY_RETRY_MAX_DELAY_MS: 60_000, DELIVERY_RETRY_FOR_MS: 600_000 });
    const cfg = await configuration([{ type: 'usb', settings: { device: 'later' } }]);
    const { run } = await packedRun(cfg, '20261201-013000');
    const waiting = await expectEventually(async () => {
      const [d] = (await runOf(run.id)).deliveries!;
      return d.status === 'pending' && d.nextAttemptAt ? d : null;
    }, { timeoutMs: 30_000 });
    expect(waiting.attempts).toBe(1);
    await mkdir(join(bed.dir, 'usb', 'later'), { recursive: true });
    await bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'backup.deliver', { runId: run.id, deliveryId: waiting.id }, { correlationId: run.id }));
    await expectEventually(async () => {
      const [{ n }] = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM inbox WHERE consumer = 'dispatcher.deliver.v1'`);
      expect(n).toBe(2);
    });
    expect((await runOf(run.id)).deliveries).toMatchObject([{ status: 'pending', attempts: 1 }]);
    // Its time comes: the held-back message starts attempt 2.
    await bed.db.dataSource.query(`UPDATE deliveries SET next_attempt_at = now() WHERE id = $1`, [waiting.id]);
    await bed.db.dataSource.query(`UPDATE outbox SET available_at = now() WHERE correlation_id = $1 AND published_at IS NULL`, [run.id]);
    await bed.db.dataSource.query(`SELECT pg_notify($1, '')`, [outboxChannel(bed.db.schema)]);
    await expectEventually(async () => (await runOf(run.id)).status === 'succeeded', { timeoutMs: 30_000 });
    expect((await runOf(run.id)).deliveries).toMatchObject([{ status: 'succeeded', attempts: 2 }]);
  });

  it('hands an archive run to the archiver once, however often the finalizer is asked, and leaves its status to the archiver', async () => {
    const cfg = await configuration([{ type: 'local', settings: { path: 'a' } }, { type: 'local', settings: { path: 'b' } }]);
    const { run } = await packedRun(cfg, '20261201-013000');
    await bed.db.dataSource.query(`UPDATE runs SET kind = 'archive' WHERE id = $1`, [run.id]);
    const dispatcher = await startDispatcher();
    const handedOver = () => bed.db.dataSource.query(`SELECT payload FROM outbox WHERE correlation_id = $1 AND type = 'archive.delivered'`, [run.id]);
    await expectEventually(async () => expect(await handedOver()).toHaveLength(1), { timeoutMs: 30_000 });
    const finalizer = dispatcher.get(RunFinalizerService);
    await Promise.all([finalizer.finalizeIfDone(run.id), finalizer.finalizeIfDone(run.id)]);
    expect(await handedOver()).toEqual([{ payload: { runId: run.id, allSucceeded: true } }]);
    const after = await runOf(run.id);
    expect(after.status).toBe('dispatching');
    expect(after.deliveredAt).toBeInstanceOf(Date);
  });

  it('targets and errors show paths relative to the destination root, never the server\'s', async () => {
    await startDispatcher();
    await mkdir(join(localRoot(), 'c'), { recursive: true });
    await writeFile(join(localRoot(), 'c', 'starface-backup'), 'a file where the folder belongs'); // ENOTDIR
    const cfg = await configuration([
      { type: 'local', settings: { path: 'a' } },
      { type: 'local', settings: { path: 'c' } },
      { type: 'usb', settings: { device: 'not-plugged-in' } },
    ]);
    const { run } = await packedRun(cfg, '20261201-013000');
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'partially_failed' ? r : null;
    }, { timeoutMs: 30_000 });
    const shown = JSON.stringify({ deliveries: done.deliveries, error: done.error });
    expect(shown).not.toContain(bed.dir);
    const byTarget = Object.fromEntries(done.deliveries!.map((d) => [d.target, d]));
    expect(Object.keys(byTarget).sort()).toEqual(['[LOCAL]/a', '[LOCAL]/c', '[USB]not-plugged-in']);
    expect(byTarget['[LOCAL]/c'].error).toContain(`/c/starface-backup/${cfg.name}`);
    expect(byTarget['[USB]not-plugged-in'].error).toContain('/not-plugged-in');
    const [{ payload }] = await bed.db.dataSource.query(`SELECT payload FROM outbox WHERE correlation_id = $1 AND type = 'backup.failed'`, [run.id]);
    expect(JSON.stringify(payload)).not.toContain(bed.dir);
  });

  it('erases the sealed secrets of a runOnly configuration when its run is final, and only those', async () => {
    await startDispatcher();
    const { box } = bed;
    // A local destination ignores the extra field; what matters is what stays stored.
    const sealed = () => [{ type: 'local' as const, settings: { path: 'a' }, secrets: { password: box.seal('hunter2') } }];
    const once = await configuration(sealed(), null, true);
    const kept = await configuration(sealed());
    const runs = [await packedRun(once, '20261201-013000'), await packedRun(kept, '20261201-013000')];
    for (const { run } of runs) await expectEventually(async () => (await runOf(run.id)).status === 'succeeded');
    const secretsOf = async (configurationId: string) => (await bed.db.dataSource.manager.findBy(DestinationEntity, { configurationId })).map((d) => d.secrets);
    expect(await secretsOf(once.id)).toEqual([{}]);
    expect(await secretsOf(kept.id)).toEqual([{ password: expect.any(String) }]);
  });

  it('keeps the last N files it wrote and never touches other files there', async () => {
    await startDispatcher();
    const cfg = await configuration([{ type: 'local', settings: {} }], 1);
    const dir = join(localRoot(), 'starface-backup', cfg.name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'not-ours.sar'), 'hands off');
    const first = await packedRun(cfg, '20261201-013000');
    await expectEventually(async () => (await runOf(first.run.id)).status === 'succeeded');
    const second = await packedRun(cfg, '20261202-013000');
    await expectEventually(async () => (await runOf(second.run.id)).status === 'succeeded');
    await expectEventually(() => expect(readdirSync(dir).sort()).toEqual([second.fileName, 'not-ours.sar'].sort()));
    const [{ last_success_at }] = await bed.db.dataSource.query('SELECT last_success_at FROM configurations WHERE id = $1', [cfg.id]);
    expect(last_success_at).not.toBeNull();
  });

  it('two runs of one configuration in the same second write two files; keepLast 1 keeps the later run\'s', async () => {
    const cfg = await configuration([{ type: 'local', settings: {} }], 1);
    const dir = join(localRoot(), 'starface-backup', cfg.name);
    const first = await packedRun(cfg, new Date('2026-12-01T01:30:00.200Z'));
    const second = await packedRun(cfg, new Date('2026-12-01T01:30:00.700Z'));
    expect(first.fileName).not.toBe(second.fileName);
    await startDispatcher();
    await expectEventually(async () => (await runOf(first.run.id)).status === 'succeeded' && (await runOf(second.run.id)).status === 'succeeded');
    const delivered = [...(await runOf(first.run.id)).deliveries!, ...(await runOf(second.run.id)).deliveries!];
    expect(new Set(delivered.map((d) => d.location)).size).toBe(2);
    await expectEventually(() => expect(readdirSync(dir)).toEqual([second.fileName]));
    expect(sha(join(dir, second.fileName))).toBe(second.sha256);
  });

  it('after an upgrade, an old file name two runs shared is one file: keepLast 1 keeps it', async () => {
    await startDispatcher();
    const cfg = await configuration([{ type: 'local', settings: {} }], 1);
    const dir = join(localRoot(), 'starface-backup', cfg.name);
    const oldName = () => `${cfg.name}_20261201-013000.sar`;
    const first = await packedRun(cfg, new Date('2026-12-01T01:30:00.200Z'), oldName);
    await expectEventually(async () => (await runOf(first.run.id)).status === 'succeeded');
    const second = await packedRun(cfg, new Date('2026-12-01T01:30:00.700Z'), oldName);
    await expectEventually(async () => (await runOf(second.run.id)).status === 'succeeded');
    await expectEventually(async () => {
      const [{ n }] = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE run_id = $1 AND pruned_at IS NOT NULL`, [first.run.id]);
      expect(n).toBe(1);
    });
    expect(readdirSync(dir)).toEqual([oldName()]);
    expect(sha(join(dir, oldName()))).toBe(second.sha256);
  });

  it('two dispatchers share 20 deliveries: each delivered exactly once', async () => {
    await startDispatcher();
    await startDispatcher();
    const cfg = await configuration(Array.from({ length: 20 }, (_, i) => ({ type: 'local' as const, settings: { path: `d${i}` } })));
    const { run, sha256, fileName } = await packedRun(cfg, '20261203-013000');
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 60_000 });
    expect(done.deliveries).toHaveLength(20);
    expect(done.deliveries!.every((d) => d.attempts === 1 && d.status === 'succeeded')).toBe(true);
    for (let i = 0; i < 20; i++) {
      const dir = join(localRoot(), `d${i}`, 'starface-backup', cfg.name);
      expect(readdirSync(dir)).toEqual([fileName]);
      expect(sha(join(dir, fileName))).toBe(sha256);
    }
    const [{ n }] = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM outbox WHERE correlation_id = $1 AND type = 'delivery.succeeded'`, [run.id]);
    expect(n).toBe(20);
    expect(existsSync(join(bed.dir, 'artifacts', `${run.id}.sar`))).toBe(true); // kept for the download window
  });
});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { UploadWindow } from '@pbx/contracts';
import type { AmqpConnection } from '@pbx/messaging';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { RunEntity, type ConfigurationEntity } from '@pbx/persistence';
import { readStateSnapshot } from '@pbx/runtime';
import { expectEventually } from '@pbx/testing';
import type { Clock } from './dispatcher.tokens';
import { dispatcherTestBed, type DestinationSeed } from './dispatcher.test-helper';

const logger = createLogger({ service: 'upload-window-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const NIGHT: UploadWindow[] = [{ from: '22:00', to: '06:00' }];

/** The dispatcher's clock, moved by the test; it keeps ticking in real time between moves. */
class TestClock implements Clock {
  private offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  set(instant: Date): void {
    this.offsetMs = instant.getTime() - Date.now();
  }
}

/**
 * Upload windows enforced by a real dispatcher (real Postgres, RabbitMQ, outbox relay): the
 * dispatcher's clock is set a few seconds before 22:00 Berlin, so the window opens a few real
 * seconds later and the held message comes back through the outbox as it would at night.
 */
describe('upload windows (real dispatcher, Postgres, RabbitMQ)', () => {
  const bed = dispatcherTestBed('upw', { logger, secretsKey: 'd4'.repeat(32), env: { DELIVERY_MAX_ATTEMPTS: undefined, DELIVERY_RETRY_FIRST_DELAY_MS: 200, DELIVERY_RETRY_MAX_DELAY_MS: 400 } });
  let clock: TestClock;
  beforeEach(async () => {
    clock = new TestClock();
  });
  const startDispatcher = (overrides?: Record<string, string | number | boolean | undefined>) => bed.start(overrides, { clock });

  const configuration = (destination: DestinationSeed, uploadWindows: UploadWindow[]) => bed.configuration([destination], { timezone: 'Europe/Berlin', uploadWindows });
  /** A packed run, named as if packed at 22:00. */
  const packedRun = (cfg: ConfigurationEntity) => bed.packedRun(cfg, { size: 64 * 1024, fileName: `${cfg.name}_20260610-220000.sar` });

  const runOf = (id: string) => bed.db.dataSource.manager.findOneOrFail(RunEntity, { where: { id }, relations: { deliveries: true } });
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  const deliverMessages = (runId: string): Promise<{ available_at: Date; published_at: Date | null }[]> =>
    bed.db.dataSource.query(`SELECT available_at, published_at FROM outbox WHERE correlation_id = $1 AND type = 'backup.deliver' ORDER BY created_at`, [runId]);
  /** 22:00 Berlin summer time (20:00Z) minus `seconds`. */
  const beforeWindow = (seconds: number) => new Date(Date.parse('2026-06-10T20:00:00Z') - seconds * 1000);

  it('outside its window a delivery waits (no attempt, not a failure, no backlog) and starts when the window opens', async () => {
    clock.set(beforeWindow(4));
    await startDispatcher();
    const cfg = await configuration({ type: 'local', settings: { path: 'a' } }, NIGHT);
    const { run, sha256, fileName } = await packedRun(cfg);

    const held = await expectEventually(async () => {
      const [d] = (await runOf(run.id)).deliveries!;
      return d?.status === 'waiting' ? d : null;
    }, { timeoutMs: 30_000 });
    expect(held).toMatchObject({ attempts: 0, code: null, error: null, failingSince: null, startedAt: null });
    // Held until the window opens, ~4 s from the hold (on the database's clock), by a held-back message.
    const heldMs = held.nextAttemptAt!.getTime() - Date.now();
    expect(heldMs).toBeGreaterThan(0);
    expect(heldMs).toBeLessThanOrEqual(4000);
    const messages = await deliverMessages(run.id);
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatchObject({ available_at: held.nextAttemptAt, published_at: null });
    // The held message is no outbox backlog (the backlog alert must not fire every night).
    const noBroker = { queueStats: () => Promise.reject(new Error('not asked')) } as unknown as AmqpConnection;
    expect((await readStateSnapshot(bed.db.dataSource, noBroker)).outbox).toMatchObject({ pending: 0, deferred: 1 });
    expect((await runOf(run.id)).status).toBe('dispatching');
    // An early copy of the message (a replay) neither starts it nor holds it a second time.
    await bed.db.dataSource.transaction((tx) => new OutboxWriter(bed.db.schema).enqueue(tx, 'backup.deliver', { runId: run.id, deliveryId: held.id }, { correlationId: run.id }));
    await expectEventually(async () => {
      const [{ n }] = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM inbox WHERE consumer = 'dispatcher.deliver.v1'`);
      expect(n).toBe(2);
    });
    expect(await deliverMessages(run.id)).toHaveLength(3);
    expect((await runOf(run.id)).deliveries).toMatchObject([{ status: 'waiting', attempts: 0, nextAttemptAt: held.nextAttemptAt }]);

    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 30_000 });
    const [d] = done.deliveries!;
    expect(d).toMatchObject({ status: 'succeeded', attempts: 1, nextAttemptAt: null, failingSince: null });
    // It started when the window opened, not before.
    expect(d.startedAt!.getTime()).toBeGreaterThanOrEqual(held.nextAttemptAt!.getTime());
    expect(sha(join(bed.paths.backups, 'a', 'starface-backup', cfg.name, fileName))).toBe(sha256);
  });

  it('inside its window (after midnight) a delivery goes at once', async () => {
    clock.set(new Date('2026-06-11T01:30:00Z')); // 03:30 Berlin
    await startDispatcher();
    const cfg = await configuration({ type: 'local', settings: { path: 'b' } }, NIGHT);
    const { run } = await packedRun(cfg);
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(done.deliveries).toMatchObject([{ status: 'succeeded', attempts: 1 }]);
    expect(await deliverMessages(run.id)).toHaveLength(1);
  });

  it('a retry that falls outside the window waits for it, and the wait does not use up DELIVERY_RETRY_FOR_MS', async () => {
    // 5 s of retrying in all; the window then stays shut for 6 s.
    await startDispatcher({ USB_ALLOW_UNMOUNTED: true, DELIVERY_RETRY_FOR_MS: 5000 });
    clock.set(new Date('2026-06-10T21:00:00Z')); // 23:00 Berlin: open
    const cfg = await configuration({ type: 'usb', settings: { device: 'stick' } }, NIGHT);
    const { run, sha256, fileName } = await packedRun(cfg);
    const failing = await expectEventually(async () => {
      const [d] = (await runOf(run.id)).deliveries!;
      return d?.status === 'pending' && d.failingSince ? d : null;
    }, { timeoutMs: 30_000 });
    expect(failing.code).toBe('mountfail');

    clock.set(beforeWindow(6));
    const held = await expectEventually(async () => {
      const [d] = (await runOf(run.id)).deliveries!;
      return d?.status === 'waiting' ? d : null;
    }, { timeoutMs: 30_000 });
    // Its last failure stays visible; the budget's start moved on by the wait.
    expect(held).toMatchObject({ code: 'mountfail', error: expect.stringContaining('not present') });
    const shiftMs = held.failingSince!.getTime() - failing.failingSince!.getTime();
    expect(shiftMs).toBeGreaterThan(4000);
    expect(shiftMs).toBeLessThanOrEqual(6000);

    // Past the first failure + 5 s, inside the window, it still fails and still retries: the budget runs from the opening.
    const after = await expectEventually(async () => {
      const [d] = (await runOf(run.id)).deliveries!;
      return d.attempts > held.attempts && d.status !== 'running' ? d : null;
    }, { timeoutMs: 30_000 });
    expect(after).toMatchObject({ status: 'pending', code: 'mountfail' });
    expect(Date.now() - failing.failingSince!.getTime()).toBeGreaterThan(5000);

    await mkdir(join(bed.paths.usb, 'stick'), { recursive: true }); // plugged in
    const done = await expectEventually(async () => {
      const r = await runOf(run.id);
      return r.status === 'succeeded' ? r : null;
    }, { timeoutMs: 30_000 });
    expect(done.deliveries![0]).toMatchObject({ status: 'succeeded', code: 'successful' });
    expect(sha(join(bed.paths.usb, 'stick', 'starface-backup', cfg.name, fileName))).toBe(sha256);
  }, 60_000);
});

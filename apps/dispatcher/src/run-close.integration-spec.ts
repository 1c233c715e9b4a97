/**
 * Issue #17: a run whose deliveries are all final is always closed, with its event written
 * once — by the redelivered last delivery when closing failed, and by the sweeper alone when
 * no message comes back at all.
 */
import { createLogger } from '@pbx/observability';
import { DestinationEntity, RunEntity, RunLifecycle } from '@pbx/persistence';
import { expectEventually } from '@pbx/testing';
import { RunSweeperService } from './run-sweeper.service';
import { dispatcherTestBed } from './dispatcher.test-helper';

const logger = createLogger({ service: 'run-close-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('closing runs (real Postgres + RabbitMQ)', () => {
  const bed = dispatcherTestBed('rclose', { logger, secretsKey: 'e5'.repeat(32), env: { AMQP_MAX_ATTEMPTS: 3, AMQP_RETRY_DELAY_MS: 100, RUN_SWEEP_INTERVAL_MS: 3_600_000 } });
  const startDispatcher = (overrides?: Record<string, string | number>) => bed.start(overrides);

  /** A packed backup run with `destinations` local destinations; `announce: false` writes no backup.packed (no fan-out). */
  async function packedRun(destinations: number, { announce = true } = {}): Promise<RunEntity> {
    const cfg = await bed.configuration(Array.from({ length: destinations }, (_, i) => ({ type: 'local' as const, settings: { path: `d${i}` } })));
    const { run } = await bed.packedRun(cfg, { size: 64 * 1024, fileName: `${cfg.name}.sar`, announce });
    return bed.db.dataSource.manager.findOneByOrFail(RunEntity, { id: run.id });
  }

  /** Deliveries recorded final, as a dispatcher leaves them when it dies right after the last one. */
  async function deliveriesRecorded(run: RunEntity, statuses: ('succeeded' | 'failed')[]): Promise<void> {
    const lifecycle = new RunLifecycle();
    const m = bed.db.dataSource.manager;
    const destinations = await m.find(DestinationEntity, { where: { configurationId: run.configurationId! }, order: { position: 'ASC' } });
    const ids = await lifecycle.planDeliveries(m, run.id, destinations.map((d) => ({ destinationId: d.id, type: d.type, target: d.type })));
    for (const [i, id] of ids.entries()) {
      await lifecycle.transitionDelivery(m, id, { to: 'running' });
      const change = statuses[i] === 'succeeded' ? { to: 'succeeded' as const, location: 'x', target: 'local', bytes: 1 } : { to: 'failed' as const, code: 'ioError' as const, error: 'disk gone' };
      await lifecycle.transitionDelivery(m, id, change);
    }
  }

  const statusOf = async (id: string) => (await bed.db.dataSource.manager.findOneByOrFail(RunEntity, { id })).status;
  const events = (runId: string): Promise<{ type: string; payload: Record<string, unknown> }[]> =>
    bed.db.dataSource.query(`SELECT type, payload FROM outbox WHERE correlation_id = $1 AND type IN ('backup.succeeded', 'backup.failed', 'archive.delivered') ORDER BY created_at`, [runId]);

  it('the redelivered last delivery closes the run when closing it failed the first time: succeeded, one backup.succeeded', async () => {
    // Closing fails once as if the dispatcher's connection had been terminated the moment the
    // last delivery was recorded (same SQLSTATE); a sequence counts across rolled-back tries.
    const s = `"${bed.db.schema}"`;
    await bed.db.dataSource.query(`CREATE SEQUENCE ${s}.close_tries`);
    await bed.db.dataSource.query(`
      CREATE FUNCTION ${s}.fail_first_close() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status IN ('succeeded', 'partially_failed', 'failed') AND nextval('${bed.db.schema}.close_tries') = 1 THEN
          RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = 'admin_shutdown';
        END IF;
        RETURN NEW;
      END $$`);
    await bed.db.dataSource.query(`CREATE TRIGGER fail_first_close BEFORE UPDATE OF status ON ${s}.runs FOR EACH ROW EXECUTE FUNCTION ${s}.fail_first_close()`);

    await startDispatcher(); // sweeping once an hour: only the redelivery can close it here
    const run = await packedRun(2);
    await expectEventually(async () => expect(await statusOf(run.id)).toBe('succeeded'), { timeoutMs: 30_000 });
    const [{ last_value }] = await bed.db.dataSource.query(`SELECT last_value::int FROM ${s}.close_tries`);
    expect(last_value).toBeGreaterThanOrEqual(2); // the first close did fail
    const [{ n }] = await bed.db.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE run_id = $1 AND status = 'succeeded'`, [run.id]);
    expect(n).toBe(2);
    expect(await events(run.id)).toEqual([{ type: 'backup.succeeded', payload: { runId: run.id } }]);
  });

  it('the sweeper alone closes runs whose deliveries are all final, once across replicas, and leaves the rest alone', async () => {
    const ok = await packedRun(2, { announce: false });
    await deliveriesRecorded(ok, ['succeeded', 'succeeded']);
    const partly = await packedRun(2, { announce: false });
    await deliveriesRecorded(partly, ['succeeded', 'failed']);
    const archive = await packedRun(1, { announce: false });
    await bed.db.dataSource.query(`UPDATE runs SET kind = 'archive' WHERE id = $1`, [archive.id]);
    await deliveriesRecorded(archive, ['succeeded']);
    const notFannedOut = await packedRun(1, { announce: false });

    // No message is in flight: two replicas sweep every 100 ms.
    const replicas = [await startDispatcher({ RUN_SWEEP_INTERVAL_MS: 100 }), await startDispatcher({ RUN_SWEEP_INTERVAL_MS: 100 })];
    await expectEventually(async () => expect([await statusOf(ok.id), await statusOf(partly.id)]).toEqual(['succeeded', 'partially_failed']), { timeoutMs: 20_000 });
    await expectEventually(async () => expect(await events(archive.id)).toHaveLength(1));
    // Further sweeps of both replicas, at once, find nothing to close; nothing is announced twice.
    expect(await Promise.all(replicas.map((a) => a.get(RunSweeperService).sweep()))).toEqual([0, 0]);
    expect(await events(ok.id)).toEqual([{ type: 'backup.succeeded', payload: { runId: ok.id } }]);
    expect(await events(partly.id)).toEqual([{ type: 'backup.failed', payload: expect.objectContaining({ runId: partly.id, status: 'partially_failed', step: 'delivery' }) }]);
    expect(await events(archive.id)).toEqual([{ type: 'archive.delivered', payload: { runId: archive.id, allSucceeded: true } }]);
    expect(await statusOf(archive.id)).toBe('dispatching'); // the archiver closes archive runs
    expect(await statusOf(notFannedOut.id)).toBe('dispatching');
  });
});

import { Client } from 'pg';
import { OutboxWriter } from '@pbx/messaging';
import { expectEventually, migratedDatabase } from '@pbx/testing';
import { ConfigurationEntity } from '../entities/configuration.entity';
import { DestinationEntity } from '../entities/destination.entity';
import { RunsRepository } from '../repositories/runs.repository';
import { RunLifecycle } from './run-lifecycle';
import { runEventsChannel } from './run-lifecycle.repository';

/**
 * What a progress write costs (docs/architecture.md, "Live run progress"): N delivery progress
 * writes through RunLifecycle (UPDATE + NOTIFY in one statement, one listener attached)
 * against the same UPDATE without NOTIFY, one after the other on one pooled connection as the
 * dispatcher does. Prints the numbers; the bound only catches a gross regression.
 */
describe('progress write cost (real Postgres)', () => {
  const N = 1000;

  it(`${N} throttled-size progress writes: UPDATE + NOTIFY vs UPDATE alone`, async () => {
    const db = await migratedDatabase('progress_cost');
    const listener = new Client({ connectionString: db.url });
    try {
      const manager = db.dataSource.manager;
      const configuration = await manager.save(
        manager.create(ConfigurationEntity, {
          kind: 'backup', name: 'cost', nameKey: 'cost', reportTo: 'ops@example.test', interval: 'manual', startAt: '2026-07-01T00:00:00Z', timezone: 'UTC',
          data: { coreData: true, cdrAndVoicemails: false, announcements: false },
        }),
      );
      const destination = await manager.save(manager.create(DestinationEntity, { configurationId: configuration.id, position: 0, type: 'local', settings: {}, secrets: {} }));
      const run = await db.dataSource.transaction((tx) => new RunsRepository(db.dataSource, new OutboxWriter(db.schema)).createRun(tx, { configuration, trigger: 'manual' }));
      const lifecycle = new RunLifecycle();
      const [deliveryId] = await lifecycle.planDeliveries(manager, run.id, [{ destinationId: destination.id, type: 'local', target: 'local' }]);
      await lifecycle.transitionDelivery(manager, deliveryId, { to: 'running' });
      let heard = 0;
      await listener.connect();
      listener.on('notification', () => heard++);
      await listener.query(`LISTEN "${runEventsChannel(db.schema)}"`);

      const time = async (write: (i: number) => Promise<unknown>) => {
        const samples: number[] = [];
        for (let i = 0; i < N; i++) {
          const t = process.hrtime.bigint();
          await write(i);
          samples.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        samples.sort((a, b) => a - b);
        return { meanMs: +(samples.reduce((s, x) => s + x, 0) / N).toFixed(3), p95Ms: +samples[Math.floor(N * 0.95)].toFixed(3) };
      };
      const plain = await time((i) => manager.query(`UPDATE deliveries SET bytes_sent = $2 WHERE id = $1 AND status = 'running'`, [deliveryId, i]));
      const notified = await time((i) => lifecycle.saveDeliveryProgress(manager, deliveryId, N + i));
      await expectEventually(() => heard === N);
      console.log(`progress write: UPDATE ${JSON.stringify(plain)}, UPDATE + NOTIFY ${JSON.stringify(notified)} (N=${N})`);
      expect(notified.meanMs).toBeLessThan(20);
    } finally {
      await listener.end().catch(() => undefined);
      await db.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { readStateSnapshot } from '@pbx/runtime';
import { migratedDatabase } from '@pbx/testing';
import { PbxMetrics } from '@pbx/observability';
import { MetricsService } from './metrics.service';

/** Issue #22: a deferred run's held-back message is no publishing backlog. */
describe('MetricsService outbox gauges (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;

  beforeEach(async () => {
    db = await migratedDatabase('metrics');
  });
  afterEach(async () => {
    await db.close();
  });

  /** An outbox row written `ageS` ago, due `dueInS` from now (negative: in the past). */
  const row = (ageS: number, dueInS: number, extra: { attempts?: number; published?: boolean } = {}) =>
    db.dataSource.query(
      `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, created_at, available_at, attempts, published_at)
       VALUES ($1, 'backup.due', 1, 'backup.due.v1', $2, '{}', now() - make_interval(secs => $3), now() + make_interval(secs => $4), $5, CASE WHEN $6 THEN now() END)`,
      [randomUUID(), randomUUID(), ageS, dueInS, extra.attempts ?? 0, extra.published ?? false],
    );
  const gauges = async () => {
    const shared = new PbxMetrics();
    // No broker here: the queue gauges stay empty, the outbox ones are what is asked.
    shared.collectState(async () => ({ ...(await readStateSnapshot(db.dataSource, { queueStats: () => Promise.reject(new Error('no broker')) } as never)) }));
    const text = await new MetricsService(db.dataSource, shared).render();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return { pending: value('pbx_backup_outbox_pending'), oldest: value('pbx_backup_outbox_oldest_pending_seconds'), deferred: value('pbx_backup_outbox_deferred') };
  };

  it('leaves messages held back for deferred runs out of the backlog and its age, and counts them apart', async () => {
    await row(1800, 1800); // a run deferred half an hour ago for an hour
    await row(3600, 3600);
    await row(7200, -300, { published: true });
    expect(await gauges()).toEqual({ pending: 0, oldest: 0, deferred: 2 });

    await row(3600, -5); // a deferral that ended 5 s ago: waiting since then, not for an hour
    const { pending, oldest, deferred } = await gauges();
    expect({ pending, deferred }).toEqual({ pending: 1, deferred: 2 });
    expect(oldest).toBeGreaterThanOrEqual(5);
    expect(oldest).toBeLessThan(30);
  });

  it('still ages a message no relay publishes, and one the relay keeps failing on, from when it was written', async () => {
    await row(600, -600); // nobody published it for 10 minutes
    await row(30, 3600);
    expect((await gauges()).oldest).toBeGreaterThanOrEqual(600);
    await row(1200, 20, { attempts: 3 }); // publishing failed three times; next try in 20 s
    expect(await gauges()).toMatchObject({ pending: 2, deferred: 1 });
    expect((await gauges()).oldest).toBeGreaterThanOrEqual(1200);
  });
});

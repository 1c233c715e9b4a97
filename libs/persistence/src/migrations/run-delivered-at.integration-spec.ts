import { migratedDatabase } from '@pbx/testing';
import { pendingSchemaChanges } from '../data-source';
import { RunDeliveredAt1764489600000 } from './1764489600000-run-delivered-at';

describe('migration 1764489600000 runs.delivered_at (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  const migration = new RunDeliveredAt1764489600000();

  beforeAll(async () => {
    db = await migratedDatabase('deliveredat');
  });
  afterAll(async () => {
    await db?.close();
  });

  const step = async (direction: 'up' | 'down') => {
    const qr = db.dataSource.createQueryRunner();
    try {
      await migration[direction](qr);
    } finally {
      await qr.release();
    }
  };
  const insertRun = async (kind: string, status: string, packed: boolean, finishedAt: Date | null): Promise<string> => {
    const [row]: { id: string }[] = await db.dataSource.query(
      `INSERT INTO runs (kind, configuration_id, configuration_name, trigger, status, snapshot, packed_at, finished_at)
       VALUES ($1, gen_random_uuid(), 'c', 'manual', $2, '{}', $3, $4) RETURNING id`,
      [kind, status, packed ? new Date() : null, finishedAt],
    );
    return row.id;
  };
  const handedOverAt = new Date('2026-07-01T10:00:00Z');
  const handOver = (runId: string, at: Date) =>
    db.dataSource.query(
      `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, created_at) VALUES (gen_random_uuid(), 'archive.delivered', 1, 'archive.delivered.v1', $1, '{}', $2)`,
      [runId, at],
    );

  it('backfills archive runs already handed over (from the outbox) and backups that reached delivery, and leaves no schema drift', async () => {
    await step('down');
    const waiting = await insertRun('archive', 'dispatching', true, null);
    await handOver(waiting, handedOverAt);
    await handOver(waiting, new Date('2026-07-01T11:00:00Z')); // deletion deferred: the event came again
    const delivering = await insertRun('archive', 'dispatching', true, null);
    const finished = new Date('2026-07-01T09:00:00Z');
    const backup = await insertRun('backup', 'partially_failed', true, finished);
    const packingFailed = await insertRun('backup', 'failed', false, finished);
    const inFlight = await insertRun('backup', 'dispatching', true, null);

    await step('up');

    const rows: { id: string; delivered_at: Date | null }[] = await db.dataSource.query('SELECT id, delivered_at FROM runs');
    expect(Object.fromEntries(rows.map((r) => [r.id, r.delivered_at]))).toEqual({
      [waiting]: handedOverAt,
      [delivering]: null,
      [backup]: finished,
      [packingFailed]: null,
      [inFlight]: null,
    });
    expect(await pendingSchemaChanges(db.dataSource)).toEqual([]);
  });
});

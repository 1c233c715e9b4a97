import { randomUUID } from 'node:crypto';
import { explainAnalyze, migratedDatabase, rowsScanned, type ExplainRow } from '@pbx/testing';
import { Inbox, INBOX_LOOKUP_SQL, INBOX_RECORD_AND_LOOKUP_SQL } from './inbox';

describe('Inbox (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;

  beforeEach(async () => {
    db = await migratedDatabase('inbox');
  });

  afterEach(async () => {
    await db.close();
  });

  it('answers look-ups and records per consumer group, also when both share one round trip', async () => {
    const packer = new Inbox(db.dataSource, 'packer.jobs.v1');
    const notifier = new Inbox(db.dataSource, 'notifier.events.v1');
    const [a, b] = [randomUUID(), randomUUID().toUpperCase()];
    expect(await packer.has(a)).toBe(false);
    await packer.record(a);
    // Same turn: b's look-up rides with a's second record; a's look-up sees the first.
    const [, seenA, seenB] = await Promise.all([packer.record(a), packer.has(a), packer.has(b)]);
    expect([seenA, seenB]).toEqual([true, false]);
    await packer.record(b);
    expect(await packer.has(b.toLowerCase())).toBe(true); // ids compare case-insensitively
    expect(await notifier.has(a)).toBe(false); // another group has not handled it
    const rows: { consumer: string }[] = await db.dataSource.query('SELECT consumer FROM inbox ORDER BY consumer');
    expect(rows.map((r) => r.consumer)).toEqual(['packer.jobs.v1', 'packer.jobs.v1']);
  });

  it('looks ids up by the key while the inbox has outgrown its statistics (a fresh install filling fast)', async () => {
    const consumer = 'packer.jobs.v1';
    // Never analyzed, 8,000 rows: with consumer leading the key, both statements were planned
    // as a scan of every row of the group (measured at 5,000-10,000 rows; bench/messaging).
    await db.dataSource.query(`INSERT INTO inbox (consumer, message_id) SELECT $1, gen_random_uuid() FROM generate_series(1, 8000)`, [consumer]);
    const ids = Array.from({ length: 13 }, () => randomUUID());
    for (const [sql, params] of [
      [INBOX_LOOKUP_SQL, [consumer, ids]],
      [INBOX_RECORD_AND_LOOKUP_SQL, [consumer, ids, [randomUUID()]]],
    ] as const) {
      const [explain]: ExplainRow[] = await db.dataSource.query(explainAnalyze(sql), [...params]);
      const scanned = rowsScanned(explain, 'inbox');
      expect(scanned.length).toBeGreaterThan(0);
      expect(Math.max(...scanned)).toBeLessThanOrEqual(ids.length);
    }
  });
});

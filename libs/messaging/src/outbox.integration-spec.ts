import { Client } from 'pg';
import { explainAnalyze, migratedDatabase, rowsScanned, type ExplainRow } from '@pbx/testing';
import { claimSql, relaySessionOptions } from './outbox-relay';

describe('OutboxRelay claim (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;

  beforeEach(async () => {
    db = await migratedDatabase('outbox');
  });

  afterEach(async () => {
    await db.close();
  });

  it('claims a batch without going through the whole backlog, even while the outbox has no statistics', async () => {
    // A backlog as after a broker outage: 20,000 due rows, never analyzed.
    await db.dataSource.query(
      `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, available_at)
       SELECT gen_random_uuid(), 'backup.due', 1, 'backup.due.v1', 'c', '{}'::jsonb, now() - make_interval(secs => g)
         FROM generate_series(1, 20000) AS g`,
    );
    const relaySession = new Client({ connectionString: db.url, options: relaySessionOptions(db.schema) });
    await relaySession.connect();
    try {
      await relaySession.query('BEGIN');
      const { rows } = await relaySession.query<ExplainRow>(explainAnalyze(claimSql(500)));
      await relaySession.query('ROLLBACK');
      const scanned = rowsScanned(rows[0], 'outbox');
      expect(scanned.length).toBeGreaterThan(0);
      // With bitmap scans allowed this read all 20,000 pending rows and sorted them.
      expect(Math.max(...scanned)).toBeLessThanOrEqual(500);
    } finally {
      await relaySession.end();
    }
  });
});

import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import type { ConfigurationKind } from '@pbx/contracts';
import { OutboxWriter, outboxChannel } from '@pbx/messaging';
import { expectEventually, migratedDatabase } from '@pbx/testing';
import { ConfigurationEntity } from '../entities/configuration.entity';
import { DestinationEntity } from '../entities/destination.entity';
import { RunsRepository, type OutboxPort } from './runs.repository';

interface RunRow {
  id: string;
  kind: string;
  configuration_id: string;
  configuration_name: string;
  trigger: string;
  catch_up: boolean;
  status: string;
  scheduled_for: Date | null;
  deferred_until: Date | null;
  deferrals: unknown;
  snapshot: unknown;
  created_at: Date;
  updated_at: Date;
}

interface OutboxRow {
  id: string;
  type: string;
  version: number;
  routing_key: string;
  correlation_id: string;
  payload: unknown;
  published_at: Date | null;
  available_at: Date;
}

describe('RunsRepository.createRuns (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let repo: RunsRepository;
  const slot = new Date('2026-07-01T12:00:00Z');

  beforeEach(async () => {
    db = await migratedDatabase('runs');
    repo = new RunsRepository(db.dataSource, new OutboxWriter(db.schema));
  });

  afterEach(async () => {
    await db.close();
  });

  async function createConfig(name: string, kind: ConfigurationKind = 'backup'): Promise<ConfigurationEntity> {
    return db.dataSource.manager.save(
      db.dataSource.manager.create(ConfigurationEntity, {
        kind,
        name,
        nameKey: name.toLowerCase(),
        reportTo: 'ops@example.test',
        interval: 'hourly',
        startAt: '2026-07-01T00:00:00Z',
        timezone: 'UTC',
        data: kind === 'backup' ? { coreData: true, cdrAndVoicemails: false, announcements: false } : { cdr: { enabled: true, daysToKeep: 30 }, voicemails: { enabled: false, daysToKeep: 30 } },
        nextRunAt: slot,
      }),
    );
  }

  async function addDestination(configuration: ConfigurationEntity, position: number, type: DestinationEntity['type'], removed = false): Promise<void> {
    await db.dataSource.manager.save(
      db.dataSource.manager.create(DestinationEntity, { configurationId: configuration.id, position, type, settings: {}, secrets: {}, removedAt: removed ? new Date() : null }),
    );
  }

  const runRows = (): Promise<RunRow[]> => db.dataSource.query('SELECT * FROM runs ORDER BY created_at, id');
  const outboxRows = (): Promise<OutboxRow[]> => db.dataSource.query('SELECT * FROM outbox');
  const inTx = <T>(fn: (tx: EntityManager) => Promise<T>): Promise<T> => db.dataSource.transaction(fn);
  /** A run row without what differs between any two runs (id, slot, time). */
  const content = ({ id: _id, scheduled_for: _s, created_at: _c, updated_at: _u, ...rest }: RunRow) => rest;

  it('writes the same rows as createRun, one due event per run with the type of its kind, and skips slots that already have a run', async () => {
    const a = await createConfig('a');
    const b = await createConfig('b');
    const c = await createConfig('c', 'archive');
    await addDestination(a, 2, 'sftp');
    await addDestination(a, 1, 'smb');
    await addDestination(a, 0, 'usb', true);
    await addDestination(c, 0, 'dropbox');
    // b's slot already has its run (and its event).
    const existing = await inTx((tx) => repo.createRun(tx, { configuration: b, trigger: 'schedule', scheduledFor: slot }));
    // The reference: what createRun writes for a, one hour earlier.
    const earlier = new Date(slot.getTime() - 3_600_000);
    const reference = await inTx((tx) => repo.createRun(tx, { configuration: a, trigger: 'schedule', scheduledFor: earlier, catchUp: true }));

    const created = await inTx((tx) =>
      repo.createRuns(tx, [
        { configuration: a, trigger: 'schedule', scheduledFor: slot, catchUp: true },
        { configuration: b, trigger: 'schedule', scheduledFor: slot },
        { configuration: c, trigger: 'schedule', scheduledFor: slot },
        // The same slot twice in one batch: one run.
        { configuration: c, trigger: 'schedule', scheduledFor: slot },
        // Slot-less runs never conflict.
        { configuration: a, trigger: 'manual' },
      ]),
    );

    expect(created.map((r) => [r.configurationId, r.kind, r.scheduledFor?.toISOString() ?? null, r.trigger, r.catchUp, r.status])).toEqual([
      [a.id, 'backup', slot.toISOString(), 'schedule', true, 'queued'],
      [c.id, 'archive', slot.toISOString(), 'schedule', false, 'queued'],
      [a.id, 'backup', null, 'manual', false, 'queued'],
    ]);
    expect(created.every((r) => r.createdAt instanceof Date)).toBe(true);
    const rows = await runRows();
    expect(rows).toHaveLength(5);
    expect(rows.filter((r) => r.configuration_id === b.id).map((r) => r.id)).toEqual([existing.id]);
    const row = (id: string | undefined) => rows.find((r) => r.id === id) as RunRow;
    expect(created.map((r) => row(r.id)).every(Boolean)).toBe(true);

    // Identical content to createRun's row (snapshot: live destinations by position, no secrets).
    expect(content(row(created[0]?.id))).toEqual(content(row(reference.id)));
    expect(row(created[0]?.id).snapshot).toMatchObject({ name: 'a', destinations: [{ type: 'smb' }, { type: 'sftp' }] });
    expect(row(created[0]?.id)).toMatchObject({ status: 'queued', deferrals: [], deferred_until: null, scheduled_for: slot });
    expect(row(created[1]?.id).snapshot).toMatchObject({ name: 'c', destinations: [{ type: 'dropbox' }], data: c.data });

    const outbox = await outboxRows();
    // existing + reference + the three new runs; nothing for b's skipped slot or the duplicate.
    expect(outbox).toHaveLength(5);
    expect(outbox.filter((o) => o.correlation_id === existing.id)).toHaveLength(1);
    const eventOf = (runId: string | undefined) => outbox.filter((o) => o.correlation_id === runId).map(({ type, version, routing_key, payload, published_at }) => ({ type, version, routing_key, payload, published_at }));
    expect(eventOf(created[0]?.id)).toEqual([{ type: 'backup.due', version: 1, routing_key: 'backup.due.v1', payload: { runId: created[0]?.id, kind: 'backup' }, published_at: null }]);
    expect(eventOf(created[1]?.id)).toEqual([{ type: 'archive.due', version: 1, routing_key: 'archive.due.v1', payload: { runId: created[1]?.id, kind: 'archive' }, published_at: null }]);
    expect(eventOf(created[2]?.id)).toEqual([{ type: 'backup.due', version: 1, routing_key: 'backup.due.v1', payload: { runId: created[2]?.id, kind: 'backup' }, published_at: null }]);
    // Due at once: the relay picks them up right after commit.
    expect(outbox.every((o) => o.available_at.getTime() <= Date.now())).toBe(true);
  });

  it('returns nothing and writes no event when every slot already has its run', async () => {
    const a = await createConfig('a');
    await inTx((tx) => repo.createRun(tx, { configuration: a, trigger: 'schedule', scheduledFor: slot }));
    const created = await inTx((tx) => repo.createRuns(tx, [{ configuration: a, trigger: 'schedule', scheduledFor: slot }]));
    expect(created).toEqual([]);
    expect(await runRows()).toHaveLength(1);
    expect(await outboxRows()).toHaveLength(1);
    expect(await inTx((tx) => repo.createRuns(tx, []))).toEqual([]);
  });

  it('wakes the outbox relay once per batch, at commit', async () => {
    const configs = [await createConfig('a'), await createConfig('b'), await createConfig('c', 'archive')];
    const listener = new Client({ connectionString: db.url });
    await listener.connect();
    try {
      const notifications: string[] = [];
      listener.on('notification', (n) => notifications.push(n.channel));
      await listener.query(`LISTEN "${outboxChannel(db.schema)}"`);
      await inTx(async (tx) => {
        await repo.createRuns(tx, configs.map((configuration) => ({ configuration, trigger: 'schedule' as const, scheduledFor: slot })));
        // A transaction's NOTIFY is delivered only when it commits.
        await tx.query('SELECT pg_sleep(0.2)');
        expect(notifications).toEqual([]);
      });
      await expectEventually(() => expect(notifications).toEqual([outboxChannel(db.schema)]));
      expect(await outboxRows()).toHaveLength(3);
    } finally {
      await listener.end();
    }
  });

  it('rolls back with the caller: a failed transaction leaves neither runs nor events', async () => {
    const a = await createConfig('a');
    await expect(
      inTx(async (tx) => {
        await repo.createRuns(tx, [{ configuration: a, trigger: 'schedule', scheduledFor: slot }]);
        throw new Error('batch failed later');
      }),
    ).rejects.toThrow('batch failed later');
    expect(await runRows()).toEqual([]);
    expect(await outboxRows()).toEqual([]);
  });

  it('falls back to one enqueue per run when the outbox port has no enqueueMany', async () => {
    const writer = new OutboxWriter(db.schema);
    const port: OutboxPort = { enqueue: (manager, type, payload, opts) => writer.enqueue(manager, type, payload, opts) };
    const a = await createConfig('a');
    const c = await createConfig('c', 'archive');
    const created = await inTx((tx) =>
      new RunsRepository(db.dataSource, port).createRuns(tx, [
        { configuration: a, trigger: 'schedule', scheduledFor: slot },
        { configuration: c, trigger: 'schedule', scheduledFor: slot },
      ]),
    );
    const outbox = await outboxRows();
    expect(outbox.map((o) => [o.correlation_id, o.type]).sort()).toEqual(
      [
        [created[0]?.id, 'backup.due'],
        [created[1]?.id, 'archive.due'],
      ].sort(),
    );
  });
});

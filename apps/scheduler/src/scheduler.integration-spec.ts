import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import type { ConfigurationKind } from '@pbx/contracts';
import { AmqpConnection, OutboxRelay, OutboxWriter, QueueConsumer } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { ConfigurationEntity, createDataSource, notifyScheduleChanged, RunsRepository, scheduleChannel, type Interval } from '@pbx/persistence';
import { nextRunAt, slotsBetween, type ScheduleConfig } from '@pbx/scheduling';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, migratedDatabase, testEnv, testUrls } from '@pbx/testing';
import { ScheduleClaimer } from './schedule-claimer.service';
import { ScheduleLoopService } from './schedule-loop.service';
import { ScheduleRepository } from './schedule.repository';
import { SchedulerModule } from './scheduler.module';

const logger = createLogger({ service: 'scheduler-test', level: 'silent' });
const HOUR = 3_600_000;

/** A clock the test moves; it keeps ticking in real time between moves. */
class TestClock {
  private offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  set(instant: Date): void {
    this.offsetMs = instant.getTime() - Date.now();
  }
}

interface RunRow {
  id: string;
  kind: ConfigurationKind;
  configuration_id: string;
  scheduled_for: Date;
  catch_up: boolean;
  trigger: string;
  created_at: Date;
}

interface ConfigInput {
  name: string;
  kind?: ConfigurationKind;
  interval: Interval;
  startAt: string | null;
  timezone: string;
  nextRunAt: Date | null;
  deletedAt?: Date | null;
  ephemeral?: boolean;
}

describe('scheduler (real Postgres + RabbitMQ)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let namespace: string;
  let amqp: AmqpConnection;
  let consumer: QueueConsumer;
  /** Due messages consumed, per run id. */
  let consumed: Map<string, { types: string[]; at: number }>;
  const stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    db = await migratedDatabase('sched');
    namespace = amqpNamespace();
    amqp = new AmqpConnection(
      { amqpUrl: testUrls.amqp, namespace, prefetch: 50, retry: { maxAttempts: 3, initialDelayMs: 100 }, databaseSchema: db.schema },
      logger,
    );
    await amqp.waitForConnect();
    consumed = new Map();
    consumer = new QueueConsumer(
      amqp,
      {
        queue: 'packer.jobs.v1',
        prefetch: 50,
        retry: { maxAttempts: 3, initialDelayMs: 100 },
        dataSource: db.dataSource,
        dispatch: async (e) => {
          const runId = (e.payload as { runId: string }).runId;
          const entry = consumed.get(runId) ?? { types: [], at: Date.now() };
          entry.types.push(e.type);
          consumed.set(runId, entry);
        },
      },
      logger,
    );
    await consumer.start();
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await consumer.stop(1000);
    await amqp.close();
    await deleteAmqpNamespace(namespace);
    await db.close();
  });

  function startRelay(): void {
    const relay = new OutboxRelay(amqp, { databaseUrl: db.url, schema: db.schema }, logger);
    relay.start();
    stops.push(() => relay.stop());
  }

  /** One scheduler replica: its own DataSource (pool), claimer and loop. */
  async function startReplica(clock: TestClock, { batchSize = 7, maxSleepMs = 30_000 } = {}) {
    const ds = createDataSource({ url: testUrls.database, schema: db.schema, poolSize: 3 });
    await ds.initialize();
    const schedules = new ScheduleRepository(ds);
    const claimer = new ScheduleClaimer(ds, schedules, new RunsRepository(ds, new OutboxWriter(db.schema)), logger, { now: clock.now, batchSize });
    const loop = new ScheduleLoopService(claimer, schedules, { maxSleepMs, databaseUrl: db.url, channel: scheduleChannel(db.schema) }, logger);
    loop.start();
    stops.push(async () => {
      await loop.stop();
      await ds.destroy();
    });
    await expectEventually(() => loop.isListening && loop.isSleeping);
    return { claimer, loop, ds };
  }

  /** Inserts a configuration the way the api does: with its next_run_at, and a NOTIFY in the same transaction. */
  async function createConfig(input: ConfigInput, ds: DataSource = db.dataSource): Promise<ConfigurationEntity> {
    return ds.transaction(async (tx) => {
      const kind = input.kind ?? 'backup';
      const saved = await tx.save(
        tx.create(ConfigurationEntity, {
          kind,
          name: input.name,
          nameKey: input.name.toLowerCase(),
          reportTo: 'ops@example.test',
          interval: input.interval,
          startAt: input.startAt,
          timezone: input.timezone,
          data: kind === 'backup' ? { coreData: true, cdrAndVoicemails: false, announcements: false } : { cdr: { enabled: true, daysToKeep: 30 }, voicemails: { enabled: false, daysToKeep: 30 } },
          nextRunAt: input.nextRunAt,
          deletedAt: input.deletedAt ?? null,
          ephemeral: input.ephemeral ?? false,
        }),
      );
      await notifyScheduleChanged(tx, db.schema);
      return saved;
    });
  }

  const notify = () => db.dataSource.query('SELECT pg_notify($1, $2)', [scheduleChannel(db.schema), '']);
  const runs = (): Promise<RunRow[]> =>
    db.dataSource.query('SELECT id, kind, configuration_id, scheduled_for, catch_up, trigger, created_at FROM runs ORDER BY scheduled_for, configuration_id');
  const nextRunOf = async (id: string): Promise<Date | null> => {
    const [row]: { next_run_at: Date | null }[] = await db.dataSource.query('SELECT next_run_at FROM configurations WHERE id = $1', [id]);
    return row?.next_run_at ?? null;
  };
  const configOf = (c: ConfigurationEntity): ScheduleConfig => ({ interval: c.interval, startAt: c.startAt as string, timezone: c.timezone });

  it('three replicas emit every slot of 50 configurations exactly once over 26 simulated hours, none missed', async () => {
    const clock = new TestClock();
    const t0 = new Date('2026-10-24T22:00:00Z'); // Berlin and London fall back during the window
    const before = new Date(t0.getTime() - 600_000);
    clock.set(before);
    const zones = ['Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'UTC'];
    const configs: ConfigurationEntity[] = [];
    for (let i = 0; i < 50; i++) {
      const zone = zones[i % zones.length] as string;
      const kind: ConfigurationKind = i % 10 === 9 ? 'archive' : 'backup';
      // Hourly ones start at t0; daily ones at a local wall time (Kathmandu and Lord Howe add off-hour slots).
      const cfg: ScheduleConfig =
        i % 2 === 0
          ? { interval: 'hourly', startAt: t0.toISOString(), timezone: zone }
          : { interval: 'daily', startAt: `2026-10-25T0${i % 7}:${i % 3 === 0 ? '30' : '00'}:00`, timezone: zone };
      configs.push(await createConfig({ name: `cfg-${i}`, kind, ...cfg, nextRunAt: nextRunAt(cfg, before) }));
    }
    startRelay();
    await Promise.all([0, 1, 2].map(() => startReplica(clock, { batchSize: 7 })));

    const end = new Date(t0.getTime() + 26 * HOUR);
    const expected = new Map(configs.map((c) => [c.id, slotsBetween(configOf(c), before, end, 1000).map((d) => d.getTime())]));
    const instants = [...new Set([...expected.values()].flat())].sort((a, b) => a - b);
    let expectedSoFar = 0;
    for (const instant of instants) {
      // Step the clock onto each slot in turn (never past one), wake all replicas at once.
      clock.set(new Date(instant + 20));
      expectedSoFar += [...expected.values()].filter((slots) => slots.includes(instant)).length;
      await notify();
      await expectEventually(async () => {
        const [{ n }]: { n: string }[] = await db.dataSource.query('SELECT count(*) AS n FROM runs');
        expect(Number(n)).toBe(expectedSoFar);
      });
    }

    const all = await runs();
    expect(all.length).toBeGreaterThan(600);
    for (const c of configs) {
      const own = all.filter((r) => r.configuration_id === c.id);
      expect({ id: c.id, slots: own.map((r) => new Date(r.scheduled_for).getTime()) }).toEqual({ id: c.id, slots: expected.get(c.id) });
      expect(own.every((r) => r.kind === c.kind && r.trigger === 'schedule' && !r.catch_up)).toBe(true);
    }
    await expectEventually(() => expect(consumed.size).toBe(all.length), { timeoutMs: 20_000 });
    for (const r of all) expect(consumed.get(r.id)?.types).toEqual([r.kind === 'archive' ? 'archive.due' : 'backup.due']);
  });

  it('after downtime across 3 slots: exactly one catch-up run for the latest missed slot, then the grid continues with a normal run', async () => {
    const clock = new TestClock();
    const cfg: ScheduleConfig = { interval: 'hourly', startAt: '2026-07-01T00:15:00', timezone: 'Europe/Berlin' };
    // The scheduler stopped just before 01:15; the slots 01:15, 02:15, 03:15 passed while it was down.
    const c = await createConfig({ name: 'down', ...cfg, nextRunAt: new Date('2026-06-30T23:15:00Z') });
    const daily = await createConfig({ name: 'daily', interval: 'daily', startAt: '2026-06-20T02:00:00', timezone: 'America/New_York', nextRunAt: new Date('2026-06-30T06:00:00Z') });
    clock.set(new Date('2026-07-01T01:40:00Z'));
    startRelay();
    await Promise.all([0, 1, 2].map(() => startReplica(clock)));

    await expectEventually(async () => expect(await runs()).toHaveLength(2));
    const first = await runs();
    expect(first.find((r) => r.configuration_id === c.id)).toMatchObject({ catch_up: true, scheduled_for: new Date('2026-07-01T01:15:00Z'), trigger: 'schedule' });
    // Daily 02:00 New York (06:00Z): the 30th was missed, the 1st is still ahead.
    expect(first.find((r) => r.configuration_id === daily.id)).toMatchObject({ catch_up: true, scheduled_for: new Date('2026-06-30T06:00:00Z') });
    expect(await nextRunOf(c.id)).toEqual(new Date('2026-07-01T02:15:00Z'));
    expect(await nextRunOf(daily.id)).toEqual(new Date('2026-07-01T06:00:00Z'));

    clock.set(new Date('2026-07-01T02:15:00.300Z'));
    await notify();
    await expectEventually(async () => expect(await runs()).toHaveLength(3));
    const second = (await runs()).filter((r) => r.configuration_id === c.id);
    expect(second.map((r) => [r.scheduled_for.toISOString(), r.catch_up])).toEqual([
      ['2026-07-01T01:15:00.000Z', true],
      ['2026-07-01T02:15:00.000Z', false],
    ]);
    expect(await nextRunOf(c.id)).toEqual(new Date('2026-07-01T03:15:00Z'));
    await expectEventually(() => expect(consumed.size).toBe(3));
  });

  it('a slot already emitted is not emitted again (unique slot index), and the rest of the batch survives', async () => {
    const clock = new TestClock();
    clock.set(new Date('2026-07-01T12:00:30Z'));
    const cfg: ScheduleConfig = { interval: 'hourly', startAt: '2026-07-01T00:00:00Z', timezone: 'UTC' };
    const slot = new Date('2026-07-01T12:00:00Z');
    const [a, b, c] = [
      await createConfig({ name: 'a', ...cfg, nextRunAt: slot }),
      await createConfig({ name: 'b', ...cfg, nextRunAt: slot }),
      await createConfig({ name: 'c', kind: 'archive', ...cfg, nextRunAt: slot }),
    ] as ConfigurationEntity[];
    // Rows the scheduler must leave alone, and a manual one that must stop being due.
    const deleted = await createConfig({ name: 'gone', ...cfg, nextRunAt: slot, deletedAt: new Date() });
    const ephemeral = await createConfig({ name: 'once', ...cfg, nextRunAt: slot, ephemeral: true });
    const manual = await createConfig({ name: 'manual', ...cfg, interval: 'manual', nextRunAt: slot });
    // A bug elsewhere left b's slot emitted but next_run_at not advanced.
    const repo = new RunsRepository(db.dataSource, new OutboxWriter(db.schema));
    const existing = await db.dataSource.transaction((tx) => repo.createRun(tx, { configuration: b, trigger: 'schedule', scheduledFor: slot }));

    const schedules = new ScheduleRepository(db.dataSource);
    const claimer = new ScheduleClaimer(db.dataSource, schedules, repo, logger, { now: clock.now, batchSize: 10 });
    const result = await claimer.claimBatch();
    expect(result).toMatchObject({ locked: 4, alreadyEmitted: 1, disabled: 1 });
    expect(result.emitted.map((e) => e.configurationId).sort()).toEqual([a.id, c.id].sort());

    const all = await runs();
    expect(all.map((r) => [r.configuration_id, r.kind, r.scheduled_for.toISOString(), r.catch_up]).sort()).toEqual(
      [
        [a.id, 'backup', slot.toISOString(), false],
        [b.id, 'backup', slot.toISOString(), false],
        [c.id, 'archive', slot.toISOString(), false],
      ].sort(),
    );
    expect(all.find((r) => r.configuration_id === b.id)?.id).toBe(existing.id);
    for (const id of [a.id, b.id, c.id]) expect(await nextRunOf(id)).toEqual(new Date('2026-07-01T13:00:00Z'));
    expect(await nextRunOf(deleted.id)).toEqual(slot);
    expect(await nextRunOf(ephemeral.id)).toEqual(slot);
    expect(await nextRunOf(manual.id)).toBeNull();
    // Nothing is due any more.
    expect((await claimer.claimBatch()).locked).toBe(0);

    startRelay();
    await expectEventually(() => expect(consumed.size).toBe(3));
    expect(consumed.get(all.find((r) => r.configuration_id === c.id)?.id as string)?.types).toEqual(['archive.due']);
    expect(consumed.get(all.find((r) => r.configuration_id === a.id)?.id as string)?.types).toEqual(['backup.due']);
  });

  it('archive configurations are claimed like backups and produce archive.due', async () => {
    const clock = new TestClock();
    clock.set(new Date('2026-08-01T03:00:02Z'));
    const archive = await createConfig({ name: 'archive', kind: 'archive', interval: 'monthly', startAt: '2026-03-01T05:00:00', timezone: 'Europe/Berlin', nextRunAt: new Date('2026-08-01T03:00:00Z') });
    startRelay();
    await startReplica(clock);
    const [run] = await expectEventually(async () => {
      const r = await runs();
      return r.length ? r : null;
    });
    expect(run).toMatchObject({ configuration_id: archive.id, kind: 'archive', catch_up: false, scheduled_for: new Date('2026-08-01T03:00:00Z') });
    expect(await nextRunOf(archive.id)).toEqual(new Date('2026-09-01T03:00:00Z'));
    await expectEventually(() => expect(consumed.get(run.id)?.types).toEqual(['archive.due']));
  });

  it('the app emits a slot created 1.5 s ahead within 2 s of its time while sleeping with a long max sleep (NOTIFY wakes it)', async () => {
    const env = testEnv({
      DATABASE_SCHEMA: db.schema,
      AMQP_NAMESPACE: namespace,
      SCHEDULER_MAX_SLEEP_MS: '600000',
    });
    const app: INestApplication = await NestFactory.create(SchedulerModule.forRoot(env, logger), { logger: false });
    app.enableShutdownHooks();
    await app.init();
    stops.push(() => app.close());
    const loop = app.get(ScheduleLoopService);
    await expectEventually(() => loop.isListening && loop.isSleeping);

    const slot = new Date(Date.now() + 1500);
    const cfg: ScheduleConfig = { interval: 'hourly', startAt: slot.toISOString(), timezone: 'Europe/Berlin' };
    const c = await createConfig({ name: 'soon', ...cfg, nextRunAt: nextRunAt(cfg, new Date()) });
    expect(c.nextRunAt).toEqual(slot);

    const [run] = await expectEventually(async () => {
      const r = await runs();
      return r.length ? r : null;
    });
    const lagMs = run.created_at.getTime() - slot.getTime();
    expect(run).toMatchObject({ configuration_id: c.id, catch_up: false, scheduled_for: slot });
    expect(lagMs).toBeGreaterThanOrEqual(0); // never early
    expect(lagMs).toBeLessThan(2000);
    // Published by the app's own outbox relay.
    await expectEventually(() => expect(consumed.get(run.id)?.types).toEqual(['backup.due']));
    expect((consumed.get(run.id)?.at ?? Infinity) - slot.getTime()).toBeLessThan(2000);
    expect(await nextRunOf(c.id)).toEqual(new Date(slot.getTime() + HOUR));
  });
});

import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import type { MessageType, PayloadOf } from '@pbx/contracts';
import { ConfigurationEntity } from '../entities/configuration.entity';
import { DestinationEntity } from '../entities/destination.entity';
import { RunEntity, type RunSnapshot, type RunTrigger } from '../entities/run.entity';
import { INITIAL_RUN_STATUS } from '../lifecycle/run-transitions';

/** One event for `OutboxPort.enqueueMany`: type and payload matched per message type. */
export type OutboxPortItem = { [T in MessageType]: { type: T; payload: PayloadOf<T>; correlationId: string; availableAt?: Date } }[MessageType];

/** What runs need of the outbox (messaging's OutboxWriter fits; persistence does not depend on messaging). */
export interface OutboxPort {
  enqueue<T extends MessageType>(manager: EntityManager, type: T, payload: PayloadOf<T>, opts: { correlationId: string; availableAt?: Date }): Promise<string>;
  /** Many events in one insert and one NOTIFY. Optional: without it `createRuns` enqueues one by one. */
  enqueueMany?(manager: EntityManager, items: readonly OutboxPortItem[]): Promise<string[]>;
}

export interface CreateRunInput {
  configuration: ConfigurationEntity;
  trigger: RunTrigger;
  /** The schedule slot this run stands for (unique per configuration). */
  scheduledFor?: Date | null;
  catchUp?: boolean;
}

/** A restore's safety backup, already in the artifact store under the run's key (`stagedArtifactName(id, false)`). */
export interface SafetyRunInput {
  /** Chosen by the caller: the artifact's key is made from it before the row exists. */
  id: string;
  restoreId: string;
  /** What the backup holds (the sections the restore replaces). */
  sections: { coreData: boolean; cdrAndVoicemails: boolean; announcements: boolean };
  artifact: { fileName: string; size: number; sha256: string };
  startedAt: Date;
}

/** The name a safety run shows where a configuration's name would be (64 characters at most). */
export function safetyRunName(restoreId: string): string {
  return `Safety before restore ${restoreId.slice(0, 8)}`;
}

/** What a run needs of its configuration, frozen at creation. Secrets stay in `destinations`. */
export function snapshotOf(configuration: ConfigurationEntity, destinations: DestinationEntity[]): RunSnapshot {
  return {
    name: configuration.name,
    reportTo: configuration.reportTo,
    language: configuration.language,
    notifyOnSuccess: configuration.notifyOnSuccess,
    keepLast: configuration.keepLast,
    keepDaily: configuration.keepDaily,
    keepWeekly: configuration.keepWeekly,
    keepMonthly: configuration.keepMonthly,
    maxAgeDays: configuration.maxAgeDays,
    timezone: configuration.timezone,
    uploadWindows: configuration.uploadWindows,
    interval: configuration.interval,
    data: configuration.data,
    encryption: configuration.encryption,
    verify: configuration.verify,
    destinations: destinations
      .filter((d) => !d.removedAt)
      .sort((a, b) => a.position - b.position)
      .map((d) => ({ id: d.id, type: d.type })),
  };
}

/**
 * Runs: creation always goes with its `backup.due` / `archive.due` event in the same
 * transaction (outbox), whoever creates it (api, scheduler).
 */
export class RunsRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxPort,
  ) {}

  /** Creates a queued run and its due event inside `manager`'s transaction. */
  async createRun(manager: EntityManager, input: CreateRunInput): Promise<RunEntity> {
    const { configuration } = input;
    const destinations = await manager.find(DestinationEntity, { where: { configurationId: configuration.id } });
    const run = manager.create(RunEntity, {
      kind: configuration.kind,
      configurationId: configuration.id,
      configurationName: configuration.name,
      trigger: input.trigger,
      catchUp: input.catchUp ?? false,
      status: INITIAL_RUN_STATUS,
      scheduledFor: input.scheduledFor ?? null,
      deferrals: [],
      snapshot: snapshotOf(configuration, destinations),
    });
    await manager.save(run);
    if (run.kind === 'archive') await this.outbox.enqueue(manager, 'archive.due', { runId: run.id, kind: 'archive' }, { correlationId: run.id });
    else await this.outbox.enqueue(manager, 'backup.due', { runId: run.id, kind: 'backup' }, { correlationId: run.id });
    return run;
  }

  /**
   * Bulk `createRun` (the scheduler's batches): the same rows and due events, written with
   * one destinations query, one multi-row run INSERT, one outbox INSERT and one NOTIFY
   * instead of four round trips per run. A slot that already has its run
   * (`runs_slot_unique`) is skipped, not an error, so the transaction survives; only the
   * runs actually inserted are returned (in input order) and get a due event.
   */
  async createRuns(manager: EntityManager, inputs: readonly CreateRunInput[]): Promise<RunEntity[]> {
    if (!inputs.length) return [];
    const configurationIds = [...new Set(inputs.map((i) => i.configuration.id))];
    const destinations = await manager.find(DestinationEntity, { where: { configurationId: In(configurationIds) } });
    const byConfiguration = new Map<string, DestinationEntity[]>();
    for (const d of destinations) byConfiguration.set(d.configurationId, [...(byConfiguration.get(d.configurationId) ?? []), d]);

    // Ids chosen here, so the inserted rows are told apart by id even for slot-less runs.
    const drafts = inputs.map(({ configuration, trigger, scheduledFor, catchUp }) =>
      manager.create(RunEntity, {
        id: randomUUID(),
        kind: configuration.kind,
        configurationId: configuration.id,
        configurationName: configuration.name,
        trigger,
        catchUp: catchUp ?? false,
        status: INITIAL_RUN_STATUS,
        scheduledFor: scheduledFor ?? null,
        deferrals: [],
        snapshot: snapshotOf(configuration, byConfiguration.get(configuration.id) ?? []),
      }),
    );
    const rows = drafts.map((r) => ({
      id: r.id,
      kind: r.kind,
      configuration_id: r.configurationId,
      configuration_name: r.configurationName,
      trigger: r.trigger,
      catch_up: r.catchUp,
      status: r.status,
      scheduled_for: r.scheduledFor ? r.scheduledFor.toISOString() : null,
      deferrals: r.deferrals,
      snapshot: r.snapshot,
    }));
    // One jsonb parameter instead of 10 per row: no bind-parameter limit on the batch size.
    // The conflict target repeats the partial index's predicate, else Postgres cannot infer it.
    const inserted: { id: string; configuration_id: string; scheduled_for: Date | null; created_at: Date; updated_at: Date }[] = await manager.query(
      `INSERT INTO runs (id, kind, configuration_id, configuration_name, trigger, catch_up, status, scheduled_for, deferrals, snapshot)
       SELECT r.id, r.kind, r.configuration_id, r.configuration_name, r.trigger, r.catch_up, r.status, r.scheduled_for, r.deferrals, r.snapshot
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, kind varchar, configuration_id uuid, configuration_name varchar, trigger varchar,
                                                 catch_up boolean, status varchar, scheduled_for timestamptz, deferrals jsonb, snapshot jsonb)
       ON CONFLICT (configuration_id, scheduled_for) WHERE scheduled_for IS NOT NULL DO NOTHING
       RETURNING id, configuration_id, scheduled_for, created_at, updated_at`,
      [JSON.stringify(rows)],
    );
    const stamps = new Map(inserted.map((r) => [r.id, r]));
    const runs = drafts.filter((r) => stamps.has(r.id));
    for (const run of runs) {
      const stamp = stamps.get(run.id);
      if (!stamp) continue;
      run.createdAt = stamp.created_at;
      run.updatedAt = stamp.updated_at;
    }
    await this.enqueueDue(manager, runs);
    return runs;
  }

  private async enqueueDue(manager: EntityManager, runs: readonly RunEntity[]): Promise<void> {
    if (!runs.length) return;
    const items = runs.map(
      (run): OutboxPortItem =>
        run.kind === 'archive'
          ? { type: 'archive.due', payload: { runId: run.id, kind: 'archive' }, correlationId: run.id }
          : { type: 'backup.due', payload: { runId: run.id, kind: 'backup' }, correlationId: run.id },
    );
    if (this.outbox.enqueueMany) {
      await this.outbox.enqueueMany(manager, items);
      return;
    }
    for (const item of items) await this.outbox.enqueue(manager, item.type, item.payload, { correlationId: item.correlationId });
  }

  /**
   * Records a restore's safety backup as a run of kind `safety`, final at once (`succeeded`,
   * packed and finished now): nothing is left to do for it, so no lifecycle move, no event and
   * no delivery; it has no configuration (nothing of a configuration's — last success,
   * staleness, retention, reports — counts it), and the artifact cleanup removes its file like
   * any run's. One per restore: a second call answers the run the first one made.
   */
  async createSafetyRun(manager: EntityManager, input: SafetyRunInput): Promise<RunEntity> {
    const snapshot: RunSnapshot = {
      name: safetyRunName(input.restoreId),
      reportTo: '',
      language: 'en',
      notifyOnSuccess: false,
      keepLast: null,
      interval: 'manual',
      data: input.sections,
      destinations: [],
    };
    await manager
      .createQueryBuilder()
      .insert()
      .into(RunEntity)
      .values({
        id: input.id,
        kind: 'safety',
        configurationId: null,
        configurationName: snapshot.name,
        restoreId: input.restoreId,
        trigger: 'manual',
        status: 'succeeded',
        deferrals: [],
        startedAt: input.startedAt,
        packedAt: () => 'now()',
        finishedAt: () => 'now()',
        artifactFileName: input.artifact.fileName,
        artifactSize: input.artifact.size,
        artifactSha256: input.artifact.sha256,
        snapshot,
      })
      .orIgnore()
      .execute();
    return manager.findOneOrFail(RunEntity, { where: { restoreId: input.restoreId } });
  }

  findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<RunEntity | null> {
    return manager.findOne(RunEntity, { where: { id }, relations: { deliveries: true } });
  }
}

/** NOTIFY channel the scheduler listens on: configurations changed, recompute the wake-up. */
export function scheduleChannel(schema: string): string {
  return `pbx_schedule_${schema}`;
}

/** Wakes every scheduler (on commit) after a configuration's schedule changed. */
export async function notifyScheduleChanged(manager: EntityManager, schema: string): Promise<void> {
  await manager.query('SELECT pg_notify($1, $2)', [scheduleChannel(schema), '']);
}

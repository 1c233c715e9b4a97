import type { DataSource, EntityManager } from 'typeorm';
import type { MessageType, PayloadOf } from '@pbx/contracts';
import { ConfigurationEntity } from '../entities/configuration.entity';
import { DestinationEntity } from '../entities/destination.entity';
import { RunEntity, type RunSnapshot, type RunTrigger } from '../entities/run.entity';

/** What runs need of the outbox (messaging's OutboxWriter fits; persistence does not depend on messaging). */
export interface OutboxPort {
  enqueue<T extends MessageType>(manager: EntityManager, type: T, payload: PayloadOf<T>, opts: { correlationId: string; availableAt?: Date }): Promise<string>;
}

export interface CreateRunInput {
  configuration: ConfigurationEntity;
  trigger: RunTrigger;
  /** The schedule slot this run stands for (unique per configuration). */
  scheduledFor?: Date | null;
  catchUp?: boolean;
}

/** What a run needs of its configuration, frozen at creation. Secrets stay in `destinations`. */
export function snapshotOf(configuration: ConfigurationEntity, destinations: DestinationEntity[]): RunSnapshot {
  return {
    name: configuration.name,
    reportTo: configuration.reportTo,
    language: configuration.language,
    notifyOnSuccess: configuration.notifyOnSuccess,
    keepLast: configuration.keepLast,
    interval: configuration.interval,
    data: configuration.data,
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
      status: 'queued',
      scheduledFor: input.scheduledFor ?? null,
      deferrals: [],
      snapshot: snapshotOf(configuration, destinations),
    });
    await manager.save(run);
    if (run.kind === 'archive') await this.outbox.enqueue(manager, 'archive.due', { runId: run.id, kind: 'archive' }, { correlationId: run.id });
    else await this.outbox.enqueue(manager, 'backup.due', { runId: run.id, kind: 'backup' }, { correlationId: run.id });
    return run;
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

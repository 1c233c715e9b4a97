import type { DataSource, EntityManager } from 'typeorm';
import type { OutboxWriter } from '@pbx/messaging';
import { ConfigurationEntity } from '../entities/configuration.entity';
import { DestinationEntity } from '../entities/destination.entity';
import { RunEntity, type RunSnapshot, type RunTrigger } from '../entities/run.entity';

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
    private readonly outbox: OutboxWriter,
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

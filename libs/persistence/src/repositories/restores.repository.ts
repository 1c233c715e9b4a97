import { In, IsNull, Not, type DataSource, type EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FINAL_RESTORE_STATUSES, type RestoreModeName, type RestoreSection, type RestoreSource, type RestoreStatus } from '@pbx/contracts';
import { RestoreEntity, type RestoreSectionState } from '../entities/restore.entity';
import type { OutboxPort } from './runs.repository';

export interface NewRestore {
  source: RestoreSource;
  sections: RestoreSection[];
  mode: RestoreModeName;
  preview: boolean;
  allowOtherPbx: boolean;
  /** The passphrase or identity, sealed by the caller; erased when the restore is final. */
  keySealed: string | null;
}

export interface RestoreProgressUpdate {
  status: Exclude<RestoreStatus, 'queued' | 'succeeded' | 'failed' | 'rolled_back'>;
  phase: string;
  bytesDone: number;
  bytesTotal: number | null;
  sections: RestoreSectionState[];
}

export type RestoreOutcome =
  | { status: 'succeeded'; sections: RestoreSectionState[]; safetyBackup: RestoreEntity['safetyBackup']; previewResult?: Record<string, unknown> }
  | { status: 'failed' | 'rolled_back'; sections: RestoreSectionState[] | null; error: string };

const NOT_FINAL = Not(In([...FINAL_RESTORE_STATUSES]));

/** NOTIFY channel of restore changes in one schema; the payload is the restore id (the api's live restore events listen). */
export function restoreEventsChannel(schema: string): string {
  return `pbx_restore_events_${schema}`;
}

/**
 * A watcher of the restore should look again: sent at commit of the caller's transaction,
 * dropped on rollback. The connection's search_path is the service's schema.
 */
async function notifyRestore(manager: EntityManager, id: string): Promise<void> {
  await manager.query(`SELECT pg_notify('pbx_restore_events_' || current_schema(), $1::text)`, [id]);
}

/**
 * Restores: the one writer of the `restores` table. Created queued with `restore.requested`
 * (api), claimed, advanced and finished by the packer; every change is conditional on the row
 * not being final, so a redelivered request or a late progress write changes nothing after the end.
 */
export class RestoresRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxPort,
  ) {}

  async request(input: NewRestore): Promise<RestoreEntity> {
    return this.dataSource.transaction(async (tx) => {
      const row = await tx.save(
        tx.create(RestoreEntity, {
          source: input.source, requestedSections: input.sections, mode: input.mode, preview: input.preview,
          allowOtherPbx: input.allowOtherPbx, keySealed: input.keySealed, status: 'queued',
        }),
      );
      // A destination's copy is fetched first (dispatcher), which then asks for the restore.
      const first = 'destinationId' in input.source ? 'restore.fetch-requested' : 'restore.requested';
      await this.outbox.enqueue(tx, first, { restoreId: row.id }, { correlationId: row.id });
      return row;
    });
  }

  find(id: string, manager: EntityManager = this.dataSource.manager): Promise<RestoreEntity | null> {
    return manager.findOne(RestoreEntity, { where: { id } });
  }

  list(offset: number, limit: number): Promise<[RestoreEntity[], number]> {
    return this.dataSource.manager.findAndCount(RestoreEntity, { order: { createdAt: 'DESC', id: 'DESC' }, skip: offset, take: limit });
  }

  /** The destination's copy is on local disk: the restore may run (still queued; phase fetched). False when it is not queued any more. */
  async fetched(id: string): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      const result = await tx.update(RestoreEntity, { id, status: 'queued', phase: IsNull() }, { phase: 'fetched' });
      if (!result.affected) return false;
      await notifyRestore(tx, id);
      await this.outbox.enqueue(tx, 'restore.requested', { restoreId: id }, { correlationId: id });
      return true;
    });
  }

  /** The sha256 recorded for a file this service delivered to a destination (null: not ours, or encrypted). */
  async recordedSha256(destinationId: string, fileName: string): Promise<string | null> {
    const [row] = await this.dataSource.query(
      `SELECT r.artifact_sha256 AS sha FROM deliveries d JOIN runs r ON r.id = d.run_id
        WHERE d.destination_id = $1 AND d.status = 'succeeded' AND r.artifact_file_name = $2 LIMIT 1`,
      [destinationId, fileName],
    );
    return (row?.sha as string | undefined) ?? null;
  }

  /** queued → waiting, once: the row when this call claimed it, else null (running or final already). */
  async claim(id: string): Promise<RestoreEntity | null> {
    const claimed = await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(RestoreEntity, { id, status: 'queued' }, { status: 'waiting', startedAt: new Date() });
      if (result.affected) await notifyRestore(tx, id);
      return !!result.affected;
    });
    return claimed ? this.find(id) : null;
  }

  async progress(id: string, update: RestoreProgressUpdate): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const result = await tx.update(RestoreEntity, { id, status: NOT_FINAL }, { ...update });
      if (result.affected) await notifyRestore(tx, id);
    });
  }

  /**
   * The safety backup is complete (before any section changes): known even if the restorer dies
   * later. In the caller's transaction, with the `safety` run that keeps it.
   */
  async recordSafetyBackup(manager: EntityManager, id: string, safetyBackup: NonNullable<RestoreEntity['safetyBackup']>, safetyRunId: string): Promise<void> {
    const result = await manager.update(RestoreEntity, { id, status: NOT_FINAL }, { safetyBackup, safetyRunId });
    if (result.affected) await notifyRestore(manager, id);
  }

  /** The final state and its event in one transaction; the sealed key is erased with it. */
  async finish(id: string, outcome: RestoreOutcome): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      const changes: QueryDeepPartialEntity<RestoreEntity> = { status: outcome.status, phase: 'done', finishedAt: new Date(), keySealed: null };
      if (outcome.sections) changes.sections = outcome.sections;
      if (outcome.status === 'succeeded') Object.assign(changes, { ...(outcome.safetyBackup ? { safetyBackup: outcome.safetyBackup } : {}), previewResult: (outcome.previewResult ?? null) as QueryDeepPartialEntity<RestoreEntity>['previewResult'], error: null });
      else changes.error = outcome.error;
      const result = await tx.update(RestoreEntity, { id, status: NOT_FINAL }, changes);
      if (!result.affected) return false;
      await notifyRestore(tx, id);
      const preview = (await this.find(id, tx))?.preview ?? false;
      if (outcome.status === 'succeeded') await this.outbox.enqueue(tx, 'restore.succeeded', { restoreId: id, preview }, { correlationId: id });
      else await this.outbox.enqueue(tx, 'restore.failed', { restoreId: id, status: outcome.status, error: outcome.error }, { correlationId: id });
      return true;
    });
  }
}

import type { EntityManager } from 'typeorm';
import type { DeliveryCode, DeliveryStatus, DestinationType, FinalRunStatus, RunStatus } from '@pbx/contracts';
import type { Deferral, RunProgress } from '../entities/run.entity';

/** A run's status change and the fields that go with it (the status decides which). */
export type RunChange =
  | { to: 'packing' }
  | { to: 'deferred'; deferral: Deferral }
  | { to: 'dispatching'; artifact: { fileName: string; size: number; sha256: string }; counts: Record<string, number>; progress: RunProgress }
  | { to: FinalRunStatus; error: string | null; counts?: Record<string, number> };

/** A delivery's status change and the fields that go with it. */
export type DeliveryChange =
  | { to: 'running' }
  /** A transient failure: the delivery waits until `nextAttemptAt` (its message is held back until then). */
  | { to: 'pending'; code: DeliveryCode; error: string; nextAttemptAt: Date; failingSince: Date }
  | { to: 'succeeded'; location: string; target: string; bytes: number }
  | { to: 'failed'; code: DeliveryCode; error: string }
  /**
   * Due to start outside its upload window: held `waitMs` (until the window opens; measured on
   * the dispatcher's clock, stored on the database's like every due time). Not a failure: code
   * and error stay, and a retry budget already running (`failing_since`) moves on by the wait.
   */
  | { to: 'waiting'; waitMs: number }
  /** Its run was cancelled: an upload aborted at its next chunk, or one that never started. */
  | { to: 'cancelled' };

/** NOTIFY channel of run and delivery changes in one schema; the payload is the run id (the api's live run events listen). */
export function runEventsChannel(schema: string): string {
  return `pbx_run_events_${schema}`;
}

/**
 * Every write below that a watcher of the run would want to see announces itself in the same
 * statement (no extra round trip; delivered at commit, dropped on rollback, and Postgres sends
 * one per payload per transaction). The connection's search_path is the service's schema.
 */
const notifyRun = (runIdColumn: string) => `pg_notify('pbx_run_events_' || current_schema(), ${runIdColumn}::text)`;

export interface NewDelivery {
  destinationId: string;
  type: DestinationType;
  target: string;
}

/**
 * The SQL of run and delivery state. Each status change is one conditional UPDATE guarded by
 * the statuses it may come from, so two writers racing for one row cannot both apply it and
 * a replayed message finds nothing to do. Only RunLifecycle calls it.
 */
export class RunLifecycleRepository {
  /** Applies `change` when the run is in one of `from`; returns its configuration id, or null when it was not. */
  async updateRun(manager: EntityManager, runId: string, change: RunChange, from: readonly RunStatus[]): Promise<{ configurationId: string; kind: string; ageSeconds: number } | null> {
    const [set, params] = runSet(change);
    // A run whose deliveries all answered is past the point of no return (an archive run's
    // PBX data is being deleted): a cancel comes too late.
    const guard = change.to === 'cancelled' ? ' AND delivered_at IS NULL' : '';
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [{ configuration_id: string; kind: string; age: number }[], number] = await manager.query(
      `UPDATE runs SET status = $3, ${set}, updated_at = now() WHERE id = $1 AND status = ANY($2::varchar[])${guard}
       RETURNING configuration_id, kind, EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float AS age, ${notifyRun('id')}`,
      [runId, from, change.to, ...params],
    );
    return rows.length ? { configurationId: rows[0].configuration_id, kind: rows[0].kind, ageSeconds: Number(rows[0].age) } : null;
  }

  async runStatus(manager: EntityManager, runId: string): Promise<RunStatus | null> {
    const [row]: { status: RunStatus }[] = await manager.query('SELECT status FROM runs WHERE id = $1', [runId]);
    return row?.status ?? null;
  }

  /** Applies `change` when the delivery is in one of `from`; returns its attempt count (and due time), or null when it was not. */
  async updateDelivery(
    manager: EntityManager,
    deliveryId: string,
    change: DeliveryChange,
    from: readonly DeliveryStatus[],
  ): Promise<{ attempts: number; type: string; nextAttemptAt: Date | null } | null> {
    const [set, params] = deliverySet(change);
    // An attempt starts (or is held for its window) only when due: an early copy of the
    // message (a replay, a stray redelivery) must not start a second chain next to the scheduled one.
    const due = change.to === 'running' || change.to === 'waiting' ? ' AND (next_attempt_at IS NULL OR next_attempt_at <= now())' : '';
    const [rows]: [{ attempts: number; type: string; next_attempt_at: Date | null }[], number] = await manager.query(
      `UPDATE deliveries SET status = $3, ${set} WHERE id = $1 AND status = ANY($2::varchar[])${due} RETURNING attempts, type, next_attempt_at, ${notifyRun('run_id')}`,
      [deliveryId, from, change.to, ...params],
    );
    return rows.length ? { attempts: rows[0].attempts, type: rows[0].type, nextAttemptAt: rows[0].next_attempt_at } : null;
  }

  async deliveryStatus(manager: EntityManager, deliveryId: string): Promise<DeliveryStatus | null> {
    const [row]: { status: DeliveryStatus }[] = await manager.query('SELECT status FROM deliveries WHERE id = $1', [deliveryId]);
    return row?.status ?? null;
  }

  /** A succeeded run: its configuration is fresh again (the staleness alarm may fire anew). */
  async recordConfigurationSuccess(manager: EntityManager, configurationId: string): Promise<void> {
    await manager.query('UPDATE configurations SET last_success_at = now(), stale_alerted_at = NULL WHERE id = $1', [configurationId]);
  }

  async saveRunProgress(manager: EntityManager, runId: string, progress: RunProgress): Promise<void> {
    await manager.query(`UPDATE runs SET progress = $2, updated_at = now() WHERE id = $1 AND status = 'packing' RETURNING ${notifyRun('id')}`, [runId, JSON.stringify(progress)]);
  }

  /** A deferral without a status change (an archive run's deletion waiting for the lock). */
  async appendDeferral(manager: EntityManager, runId: string, deferral: Deferral): Promise<void> {
    await manager.query(`UPDATE runs SET deferrals = deferrals || $2::jsonb, updated_at = now() WHERE id = $1 RETURNING ${notifyRun('id')}`, [runId, JSON.stringify([deferral])]);
  }

  /** Moves a deferred run's `deferred_until` to now; true when the run was deferred. */
  async endDeferral(manager: EntityManager, runId: string): Promise<boolean> {
    const [rows]: [unknown[], number] = await manager.query(
      `UPDATE runs SET deferred_until = now(), updated_at = now() WHERE id = $1 AND status = 'deferred' RETURNING id, ${notifyRun('id')}`,
      [runId],
    );
    return rows.length > 0;
  }

  /** Sets `delivered_at` once; true only for the call that set it. */
  async markDelivered(manager: EntityManager, runId: string): Promise<boolean> {
    const [rows]: [unknown[], number] = await manager.query(
      `UPDATE runs SET delivered_at = now(), updated_at = now() WHERE id = $1 AND delivered_at IS NULL RETURNING id`,
      [runId],
    );
    return rows.length > 0;
  }

  /** One pending delivery per destination; rows that exist already add nothing. Returns the new ids. */
  async insertDeliveries(manager: EntityManager, runId: string, deliveries: readonly NewDelivery[], status: DeliveryStatus): Promise<string[]> {
    const created: string[] = [];
    for (const d of deliveries) {
      const rows: { id: string }[] = await manager.query(
        `INSERT INTO deliveries (run_id, destination_id, type, target, status) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (run_id, destination_id) DO NOTHING RETURNING id, ${notifyRun('run_id')}`,
        [runId, d.destinationId, d.type, d.target.slice(0, 300), status],
      );
      if (rows.length) created.push(rows[0].id);
    }
    return created;
  }

  /** Moves the run's deliveries in one of `from` to `cancelled`; returns the destination kind of each (metrics). */
  async cancelDeliveries(manager: EntityManager, runId: string, from: readonly DeliveryStatus[]): Promise<string[]> {
    const [rows]: [{ type: string }[], number] = await manager.query(
      `UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, finished_at = now() WHERE run_id = $1 AND status = ANY($2::varchar[]) RETURNING id, type, ${notifyRun('run_id')}`,
      [runId, from],
    );
    return rows.map((r) => r.type);
  }

  async saveDeliveryProgress(manager: EntityManager, deliveryId: string, bytes: number): Promise<void> {
    await manager.query(`UPDATE deliveries SET bytes_sent = $2 WHERE id = $1 AND status = 'running' RETURNING ${notifyRun('run_id')}`, [deliveryId, bytes]);
  }

  async markPruned(manager: EntityManager, deliveryId: string): Promise<void> {
    await manager.query(`UPDATE deliveries SET pruned_at = now() WHERE id = $1`, [deliveryId]);
  }

  /** Final runs whose artifact outlived the download window, locked for this transaction (replicas skip them). */
  async claimExpiredArtifacts(manager: EntityManager, windowMs: number, finalStatuses: readonly RunStatus[], limit: number): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT id FROM runs
        WHERE status = ANY($2::varchar[]) AND artifact_file_name IS NOT NULL AND artifact_removed_at IS NULL
          AND finished_at < now() - ($1 || ' milliseconds')::interval
        ORDER BY finished_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [String(windowMs), finalStatuses, limit],
    );
    return rows.map((r) => r.id);
  }

  async markArtifactRemoved(manager: EntityManager, runId: string): Promise<void> {
    await manager.query('UPDATE runs SET artifact_removed_at = now() WHERE id = $1', [runId]);
  }
}

/** The SET list (after status) of a run change; its parameters start at $4. */
function runSet(change: RunChange): [string, unknown[]] {
  switch (change.to) {
    case 'packing':
      return ['started_at = COALESCE(started_at, now()), deferred_until = NULL, error = NULL, progress = NULL', []];
    case 'deferred':
      return ['deferred_until = $4, deferrals = deferrals || $5::jsonb', [change.deferral.until, JSON.stringify([change.deferral])]];
    case 'dispatching':
      return [
        `packed_at = now(), artifact_file_name = $4, artifact_size = $5, artifact_sha256 = $6,
         counts = COALESCE(counts, '{}'::jsonb) || $7::jsonb, progress = $8::jsonb`,
        [change.artifact.fileName, change.artifact.size, change.artifact.sha256, JSON.stringify(change.counts), JSON.stringify(change.progress)],
      ];
    default:
      return [`error = $4, finished_at = now(), deferred_until = NULL, counts = CASE WHEN $5::jsonb IS NULL THEN counts ELSE COALESCE(counts, '{}'::jsonb) || $5::jsonb END`, [change.error, change.counts ? JSON.stringify(change.counts) : null]];
  }
}

/** The SET list (after status) of a delivery change; its parameters start at $4. */
function deliverySet(change: DeliveryChange): [string, unknown[]] {
  switch (change.to) {
    case 'running':
      return ['attempts = attempts + 1, started_at = COALESCE(started_at, now()), error = NULL, bytes_sent = 0, next_attempt_at = NULL', []];
    case 'pending':
      return ['code = $4, error = $5, next_attempt_at = $6, failing_since = COALESCE(failing_since, $7)', [change.code, change.error, change.nextAttemptAt, change.failingSince]];
    case 'succeeded':
      return [`code = 'successful', location = $4, target = $5, bytes_sent = $6, error = NULL, finished_at = now()`, [change.location, change.target.slice(0, 300), change.bytes]];
    case 'failed':
      return ['code = $4, error = $5, finished_at = now()', [change.code, change.error]];
    case 'waiting':
      return [
        `next_attempt_at = now() + make_interval(secs => $4::float / 1000), failing_since = failing_since + make_interval(secs => $4::float / 1000)`,
        [Math.max(0, Math.round(change.waitMs))],
      ];
    case 'cancelled':
      return ['next_attempt_at = NULL, finished_at = now()', []];
  }
}

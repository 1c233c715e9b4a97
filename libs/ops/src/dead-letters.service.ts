import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { republishDeadLetter, type AmqpConnection } from '@pbx/messaging';
import type { DeadLetterEntity } from '@pbx/persistence';
import { notFound } from './ids';
import { offsetOf, pageOf, type Page } from './pagination';
import { DeadLettersRepository, type DeadLetterFilter } from './dead-letters.repository';

export interface DeadLetterResponse {
  id: string;
  queue: string;
  messageId: string;
  type: string | null;
  routingKey: string | null;
  runId: string | null;
  reason: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  recordedAt: string;
  replayedAt: string | null;
  replayedBy: string | null;
  discardedAt: string | null;
  discardedBy: string | null;
  headers?: Record<string, unknown>;
  body?: string;
}

/** A bulk replay or discard: a filter, or `all: true` for every open letter. */
export interface DeadLetterBulkFilter {
  queue?: string;
  type?: string;
  runId?: string;
  all?: boolean;
}

const BULK_BATCH = 100;

/**
 * Ops on recorded dead letters, shared by the api and the ops CLI. A replay republishes
 * under a row lock (SELECT … FOR UPDATE) and marks the row in the same transaction, so two
 * concurrent replays of one letter cannot both publish.
 */
export class DeadLettersService {
  constructor(
    private readonly repository: DeadLettersRepository,
    private readonly amqp: AmqpConnection,
  ) {}

  async list(filter: DeadLetterFilter, q: { page: number; limit: number }): Promise<Page<DeadLetterResponse>> {
    const [rows, total] = await this.repository.list(filter, offsetOf(q), q.limit);
    return pageOf(rows.map((r) => toResponse(r, false)), total, q);
  }

  async get(id: string): Promise<DeadLetterResponse> {
    const row = await this.repository.findById(id);
    if (!row) throw notFound('dead letter');
    return toResponse(row, true);
  }

  async replay(id: string, by: string): Promise<DeadLetterResponse> {
    return this.repository.transaction(async (tx) => {
      const row = await this.repository.lockById(tx, id);
      if (!row) throw notFound('dead letter');
      if (row.replayedAt) {
        throw new DomainError(
          ERROR_CODES.alreadyReplayed,
          `dead letter ${id} was already replayed at ${row.replayedAt.toISOString()} by ${row.replayedBy ?? 'unknown'}; if it fails again it is recorded anew and can be replayed then`,
        );
      }
      if (row.discardedAt) throw new DomainError(ERROR_CODES.conflict, `dead letter ${id} was discarded at ${row.discardedAt.toISOString()} and cannot be replayed`);
      await republishDeadLetter(this.amqp, row);
      await this.repository.markReplayed(tx, id, by);
      return toResponse({ ...row, replayedAt: new Date(), replayedBy: by }, false);
    });
  }

  /** Replays every open (not replayed, not discarded) letter of a bulk filter, in batches. */
  async replayMatching(bulk: DeadLetterBulkFilter, by: string): Promise<number> {
    const filter = matchingFilter(bulk);
    let replayed = 0;
    for (;;) {
      const n = await this.repository.transaction(async (tx) => {
        const rows = await this.repository.lockOpen(tx, filter, BULK_BATCH);
        for (const row of rows) {
          await republishDeadLetter(this.amqp, row);
          await this.repository.markReplayed(tx, row.id, by);
        }
        return rows.length;
      });
      replayed += n;
      if (n < BULK_BATCH) return replayed;
    }
  }

  /** Discards every open letter of a bulk filter (recorded like a single discard). */
  discardMatching(bulk: DeadLetterBulkFilter, by: string): Promise<number> {
    return this.repository.discardOpen(matchingFilter(bulk), by);
  }

  async discard(id: string, by: string): Promise<void> {
    await this.repository.transaction(async (tx) => {
      const row = await this.repository.lockById(tx, id);
      if (!row) throw notFound('dead letter');
      if (!row.discardedAt) await this.repository.markDiscarded(tx, id, by);
    });
  }
}

/**
 * The one rule of bulk operations: a filter that names nothing matches every open letter, so
 * it is only taken with an explicit `all: true` (an empty or unreadable body must not mean
 * "everything").
 */
function matchingFilter({ all, ...filter }: DeadLetterBulkFilter): Omit<DeadLetterFilter, 'includeDiscarded'> {
  const named = Object.values(filter).some((v) => v !== undefined);
  if (!named && all !== true) {
    throw new DomainError(ERROR_CODES.validation, 'Request validation failed', [
      { field: 'all', message: 'must be true to act on every open dead letter (or give queue, type or runId)' },
    ]);
  }
  return filter;
}


function toResponse(r: DeadLetterEntity, detail: boolean): DeadLetterResponse {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: r.id,
    queue: r.queue,
    messageId: r.messageId,
    type: r.type,
    routingKey: r.routingKey,
    runId: r.correlationId,
    reason: r.reason,
    attempts: r.attempts,
    firstFailedAt: r.firstFailedAt.toISOString(),
    lastFailedAt: r.lastFailedAt.toISOString(),
    recordedAt: r.recordedAt.toISOString(),
    replayedAt: iso(r.replayedAt),
    replayedBy: r.replayedBy,
    discardedAt: iso(r.discardedAt),
    discardedBy: r.discardedBy,
    ...(detail ? { headers: r.headers, body: r.body } : {}),
  };
}

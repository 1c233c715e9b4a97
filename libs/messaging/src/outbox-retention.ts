import type { Pool } from 'pg';

/**
 * Published events are kept a week for ops to look at; inbox records a month. A duplicate
 * arrives within minutes (a relay's lost claim or mark); a replayed dead letter was never
 * recorded as handled, so neither needs the records for longer.
 */
export const OUTBOX_KEEP_DAYS = 7;
export const INBOX_KEEP_DAYS = 30;
const PRUNE_BATCH = 5000;

/**
 * Deletes published outbox rows older than OUTBOX_KEEP_DAYS and inbox records older than
 * INBOX_KEEP_DAYS, in batches (short locks), so neither table grows without bound. Every
 * relay does it; running it twice at once only finds less to delete.
 */
export async function pruneOutboxAndInbox(pool: Pool): Promise<{ outbox: number; inbox: number }> {
  return {
    outbox: await deleteInBatches(
      pool,
      `DELETE FROM outbox WHERE id = ANY(ARRAY(
         SELECT id FROM outbox WHERE published_at < now() - make_interval(days => $1) LIMIT $2))`,
      OUTBOX_KEEP_DAYS,
    ),
    inbox: await deleteInBatches(
      pool,
      `DELETE FROM inbox WHERE (consumer, message_id) IN (
         SELECT consumer, message_id FROM inbox WHERE processed_at < now() - make_interval(days => $1) LIMIT $2)`,
      INBOX_KEEP_DAYS,
    ),
  };
}

/** Runs `sql` ($1 = days, $2 = batch size) until a batch deletes less than a full batch. */
async function deleteInBatches(pool: Pool, sql: string, days: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(sql, [days, PRUNE_BATCH]);
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < PRUNE_BATCH) return total;
  }
}

import type { DataSource } from 'typeorm';

interface Waiter<V> {
  key: string;
  resolve: (value: V) => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces lookups into one call of `run`, like group commit: calls made in the same turn
 * of the event loop go together, and while `maxInFlight` runs are out, new calls wait and
 * go together in the next run. amqplib hands over every delivery of a socket read in one
 * turn, so the consumer pays one Postgres round trip (and one commit) per window instead of
 * one per message — the round trips, not the SQL, were the consumer's cost
 * (bench/messaging). An idle batcher adds no delay beyond the current turn.
 */
export class TickBatcher<V> {
  private pending: Waiter<V>[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly run: (keys: string[]) => Promise<(key: string) => V>,
    private readonly options: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  load(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (this.pending.length >= (this.options.maxBatch ?? 500)) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          if (this.inFlight < (this.options.maxInFlight ?? 2)) this.flush();
        });
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (!batch.length) return;
    this.pending = [];
    this.inFlight++;
    const keys = [...new Set(batch.map((w) => w.key))];
    this.run(keys)
      .then(
        (valueOf) => batch.forEach((w) => w.resolve(valueOf(w.key))),
        (err: unknown) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight--;
        // What arrived while we were out goes now, as one batch.
        if (this.pending.length && !this.scheduled) this.flush();
      });
  }
}

/** $1 consumer, $2 ids handled: recorded, committed before the acks. */
export const INBOX_RECORD_SQL = 'INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING';
/** $1 consumer, $2 ids just delivered: those already handled. */
export const INBOX_LOOKUP_SQL = 'SELECT message_id FROM inbox WHERE consumer = $1 AND message_id = ANY($2::uuid[])';
/**
 * Both in one statement ($3 the ids to record). The look-up does not see the statement's
 * own inserts, and need not: a copy of a message that is being recorded right now is held
 * back by the consumer until that copy is done (QueueConsumer.handling).
 */
export const INBOX_RECORD_AND_LOOKUP_SQL = `WITH recorded AS (INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($3::uuid[]) ON CONFLICT DO NOTHING)
  SELECT message_id FROM inbox WHERE consumer = $1 AND message_id = ANY($2::uuid[])`;

const LOOKUP = 'has:';
const RECORD = 'rec:';

/**
 * The idempotency record of one consumer group: a message id is recorded after its handler's
 * work is durable and before the ack, so a redelivered or replayed copy is skipped.
 *
 * Look-ups and records share one batcher: one round trip carries the records of the
 * messages just handled and the look-ups of those just delivered, and only one is out at a
 * time, so the batch grows with the load (group commit). The per-query cost on both ends of
 * the pg socket, not the SQL, was the consumer's cost (bench/messaging).
 */
export class Inbox {
  private readonly batcher: TickBatcher<boolean>;

  constructor(dataSource: DataSource, consumer: string) {
    this.batcher = new TickBatcher<boolean>(
      async (keys) => {
        const lookups = keys.filter((k) => k.startsWith(LOOKUP)).map((k) => k.slice(LOOKUP.length));
        const records = keys.filter((k) => k.startsWith(RECORD)).map((k) => k.slice(RECORD.length));
        if (!lookups.length) {
          await dataSource.query(INBOX_RECORD_SQL, [consumer, records]);
          return () => false;
        }
        const rows: { message_id: string }[] = records.length
          ? await dataSource.query(INBOX_RECORD_AND_LOOKUP_SQL, [consumer, lookups, records])
          : await dataSource.query(INBOX_LOOKUP_SQL, [consumer, lookups]);
        const found = new Set(rows.map((r) => r.message_id));
        return (key) => key.startsWith(LOOKUP) && found.has(key.slice(LOOKUP.length));
      },
      { maxInFlight: 1 },
    );
  }

  // Postgres returns uuids in lower case; the envelope only guarantees a uuid.
  has(messageId: string): Promise<boolean> {
    return this.batcher.load(LOOKUP + messageId.toLowerCase());
  }

  async record(messageId: string): Promise<void> {
    await this.batcher.load(RECORD + messageId.toLowerCase());
  }
}

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

/**
 * The idempotency record of one consumer group: a message id is recorded after its handler's
 * work is durable and before the ack, so a redelivered or replayed copy is skipped.
 */
export class Inbox {
  private readonly seen: TickBatcher<boolean>;
  private readonly records: TickBatcher<void>;

  constructor(dataSource: DataSource, consumer: string) {
    this.seen = new TickBatcher(async (ids) => {
      const rows: { message_id: string }[] = await dataSource.query(
        'SELECT message_id FROM inbox WHERE consumer = $1 AND message_id = ANY($2::uuid[])',
        [consumer, ids],
      );
      const found = new Set(rows.map((r) => r.message_id));
      return (id) => found.has(id);
    });
    this.records = new TickBatcher<void>(async (ids) => {
      await dataSource.query(
        'INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING',
        [consumer, ids],
      );
      return () => undefined;
    });
  }

  // Postgres returns uuids in lower case; the envelope only guarantees a uuid.
  has(messageId: string): Promise<boolean> {
    return this.seen.load(messageId.toLowerCase());
  }

  record(messageId: string): Promise<void> {
    return this.records.load(messageId.toLowerCase());
  }
}

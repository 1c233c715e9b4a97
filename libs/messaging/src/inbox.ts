import type { DataSource } from 'typeorm';

interface Waiter<V> {
  key: string;
  resolve: (value: V) => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces the calls made in one turn of the event loop into one call of `run`. amqplib
 * hands over every delivery of a socket read in the same turn, so with a prefetch window of
 * N the consumer pays one Postgres round trip (and one commit) per window instead of one per
 * message — the round trips, not the SQL, were the consumer's cost (bench/messaging).
 */
export class TickBatcher<V> {
  private pending: Waiter<V>[] = [];
  private scheduled = false;

  constructor(
    private readonly run: (keys: string[]) => Promise<(key: string) => V>,
    private readonly maxBatch = 500,
  ) {}

  load(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (!batch.length) return;
    this.pending = [];
    const keys = [...new Set(batch.map((w) => w.key))];
    this.run(keys).then(
      (valueOf) => batch.forEach((w) => w.resolve(valueOf(w.key))),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
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

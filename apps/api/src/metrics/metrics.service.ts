import { Gauge, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { RUN_STATUSES } from '@pbx/persistence';

interface Row {
  [k: string]: string | number | null;
}

interface Snapshot {
  runs: Row[];
  outbox: Row[];
  deadLetters: Row[];
  configurations: Row[];
  deliveries: Row[];
  lastSuccess: Row[];
}

const KINDS = ['backup', 'archive'] as const;

/**
 * Prometheus exposition of the service state through a prom-client registry. The state is
 * read from Postgres once per scrape (a few indexed aggregates; scrapes are rare compared to
 * the cost) and each gauge's collect callback takes its values from that snapshot.
 */
export class MetricsService {
  private readonly registry = new Registry();
  private snapshot: Promise<Snapshot> | undefined;

  constructor(private readonly dataSource: DataSource) {
    const registers = [this.registry];
    // Every gauge of a scrape reads the snapshot that scrape started (collect is called
    // synchronously inside registry.metrics(), so concurrent scrapes each see their own).
    const current = () => this.snapshot;
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, s: Snapshot) => void) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const pending = current();
          if (!pending) return;
          const s = await pending;
          this.reset();
          fill(this, s);
        },
      });

    gauge('pbx_backup_runs', 'Runs by kind and status (all time).', ['kind', 'status'], (g, s) => {
      for (const kind of KINDS) for (const status of RUN_STATUSES) g.set({ kind, status }, Number(s.runs.find((r) => r.kind === kind && r.status === status)?.n ?? 0));
    });
    gauge('pbx_backup_outbox_pending', 'Outbox messages due and not yet published.', [], (g, s) => g.set(Number(s.outbox[0]?.n ?? 0)));
    gauge('pbx_backup_outbox_oldest_pending_seconds', 'How long the oldest due, unpublished outbox message has waited (held-back ones count from when they became due).', [], (g, s) =>
      g.set(Number(s.outbox[0]?.age ?? 0)),
    );
    gauge('pbx_backup_outbox_deferred', 'Outbox messages held back until later on purpose (deferred runs, scheduled delivery retries).', [], (g, s) =>
      g.set(Number(s.outbox[0]?.deferred ?? 0)),
    );
    gauge('pbx_backup_dead_letters_open', 'Dead letters neither replayed nor discarded.', [], (g, s) => g.set(s.deadLetters.reduce((sum, r) => sum + Number(r.n), 0)));
    gauge('pbx_backup_dead_letters_open_by_queue', 'Open dead letters per consumer queue.', ['queue'], (g, s) => {
      for (const r of s.deadLetters) g.set({ queue: String(r.queue) }, Number(r.n));
    });
    gauge('pbx_backup_configurations', 'Configurations (not deleted) by kind.', ['kind'], (g, s) => {
      for (const kind of KINDS) g.set({ kind }, Number(s.configurations.find((r) => r.kind === kind)?.n ?? 0));
    });
    gauge('pbx_backup_deliveries', 'Deliveries by destination type and status (all time).', ['type', 'status'], (g, s) => {
      for (const r of s.deliveries) g.set({ type: String(r.type), status: String(r.status) }, Number(r.n));
    });
    gauge('pbx_backup_last_success_timestamp_seconds', 'Latest successful run of any configuration, by kind (0 = never).', ['kind'], (g, s) => {
      for (const kind of KINDS) g.set({ kind }, Number(s.lastSuccess.find((r) => r.kind === kind)?.t ?? 0));
    });
    gauge('pbx_backup_api_uptime_seconds', 'Seconds since the api process started.', [], (g) => g.set(Math.round(process.uptime())));
  }

  async render(): Promise<string> {
    this.snapshot = this.read();
    return this.registry.metrics();
  }

  private async read(): Promise<Snapshot> {
    const q = (sql: string) => this.dataSource.query(sql) as Promise<Row[]>;
    const [runs, outbox, deadLetters, configurations, deliveries, lastSuccess] = await Promise.all([
      q('SELECT kind, status, count(*)::int AS n FROM runs GROUP BY kind, status'),
      // Held back = never tried and not due yet (available_at ahead). A row the relay failed to
      // publish waits since it was written; any other since it became due.
      q(`SELECT count(*) FILTER (WHERE NOT held)::int AS n, count(*) FILTER (WHERE held)::int AS deferred,
                COALESCE(EXTRACT(EPOCH FROM now() - min(CASE WHEN attempts > 0 THEN created_at ELSE available_at END) FILTER (WHERE NOT held)), 0)::float AS age
           FROM (SELECT created_at, available_at, attempts, attempts = 0 AND available_at > now() AS held FROM outbox WHERE published_at IS NULL) o`),
      q(`SELECT queue, count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL GROUP BY queue`),
      q(`SELECT kind, count(*)::int AS n FROM configurations WHERE deleted_at IS NULL AND ephemeral = false GROUP BY kind`),
      q(`SELECT type, status, count(*)::int AS n FROM deliveries GROUP BY type, status`),
      q(`SELECT kind, EXTRACT(EPOCH FROM max(last_success_at))::float AS t FROM configurations WHERE deleted_at IS NULL AND ephemeral = false GROUP BY kind`),
    ]);
    return { runs, outbox, deadLetters, configurations, deliveries, lastSuccess };
  }
}

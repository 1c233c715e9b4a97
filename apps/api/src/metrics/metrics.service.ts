import { Gauge, Registry } from 'prom-client';
import { METRICS, type PbxMetrics } from '@pbx/observability';
import type { DataSource } from 'typeorm';
import { RUN_STATUSES } from '@pbx/persistence';

interface Row {
  [k: string]: string | number | null;
}

interface Snapshot {
  runs: Row[];
  configurations: Row[];
  deliveries: Row[];
  lastSuccess: Row[];
}

const KINDS = ['backup', 'archive'] as const;

/**
 * The api's /metrics: what every app exports (PbxMetrics: events of this process, queue,
 * outbox, dead-letter and per-configuration state) and the api's own totals below, read
 * from Postgres once per scrape (a few indexed aggregates) by each gauge's collect callback.
 */
export class MetricsService {
  private readonly registry = new Registry();
  private snapshot: Promise<Snapshot> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly shared: PbxMetrics,
  ) {
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

    gauge(METRICS.runs, 'Runs by kind and status (all time).', ['kind', 'status'], (g, s) => {
      for (const kind of KINDS) for (const status of RUN_STATUSES) g.set({ kind, status }, Number(s.runs.find((r) => r.kind === kind && r.status === status)?.n ?? 0));
    });
    gauge(METRICS.configurations, 'Configurations (not deleted) by kind.', ['kind'], (g, s) => {
      for (const kind of KINDS) g.set({ kind }, Number(s.configurations.find((r) => r.kind === kind)?.n ?? 0));
    });
    gauge(METRICS.deliveriesByStatus, 'Deliveries by destination type and status (all time).', ['type', 'status'], (g, s) => {
      for (const r of s.deliveries) g.set({ type: String(r.type), status: String(r.status) }, Number(r.n));
    });
    gauge(METRICS.lastSuccess, 'Latest successful run of any configuration, by kind (0 = never).', ['kind'], (g, s) => {
      for (const kind of KINDS) g.set({ kind }, Number(s.lastSuccess.find((r) => r.kind === kind)?.t ?? 0));
    });
    gauge(METRICS.apiUptime, 'Seconds since the api process started.', [], (g) => g.set(Math.round(process.uptime())));
  }

  async render(): Promise<string> {
    this.snapshot = this.read();
    this.shared.beginScrape();
    return Registry.merge([this.shared.registry, this.registry]).metrics();
  }

  private async read(): Promise<Snapshot> {
    const q = (sql: string) => this.dataSource.query(sql) as Promise<Row[]>;
    const [runs, configurations, deliveries, lastSuccess] = await Promise.all([
      q('SELECT kind, status, count(*)::int AS n FROM runs GROUP BY kind, status'),
      q(`SELECT kind, count(*)::int AS n FROM configurations WHERE deleted_at IS NULL AND ephemeral = false GROUP BY kind`),
      q(`SELECT type, status, count(*)::int AS n FROM deliveries GROUP BY type, status`),
      q(`SELECT kind, EXTRACT(EPOCH FROM max(last_success_at))::float AS t FROM configurations WHERE deleted_at IS NULL AND ephemeral = false GROUP BY kind`),
    ]);
    return { runs, configurations, deliveries, lastSuccess };
  }
}

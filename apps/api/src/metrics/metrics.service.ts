import type { DataSource } from 'typeorm';
import { RUN_STATUSES } from '@pbx/persistence';

interface Row {
  [k: string]: string | number | null;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * Prometheus text exposition of the service state, read from Postgres on each scrape (a few
 * indexed aggregates; scrapes are rare compared to the cost).
 */
export class MetricsService {
  constructor(private readonly dataSource: DataSource) {}

  async render(): Promise<string> {
    const q = (sql: string) => this.dataSource.query(sql) as Promise<Row[]>;
    const [runs, outbox, deadLetters, configurations, deliveries, lastSuccess] = await Promise.all([
      q('SELECT kind, status, count(*)::int AS n FROM runs GROUP BY kind, status'),
      q(`SELECT count(*)::int AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float AS age FROM outbox WHERE published_at IS NULL`),
      q(`SELECT queue, count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL GROUP BY queue`),
      q(`SELECT kind, count(*)::int AS n FROM configurations WHERE deleted_at IS NULL AND ephemeral = false GROUP BY kind`),
      q(`SELECT type, status, count(*)::int AS n FROM deliveries GROUP BY type, status`),
      q(`SELECT kind, EXTRACT(EPOCH FROM max(last_success_at))::float AS t FROM configurations WHERE deleted_at IS NULL AND ephemeral = false GROUP BY kind`),
    ]);
    const out: string[] = [];
    const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: [Record<string, string>, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
        out.push(`${name}${l ? `{${l}}` : ''} ${value}`);
      }
    };
    const runSamples: [Record<string, string>, number][] = [];
    for (const kind of ['backup', 'archive']) {
      for (const status of RUN_STATUSES) {
        const row = runs.find((r) => r.kind === kind && r.status === status);
        runSamples.push([{ kind, status }, Number(row?.n ?? 0)]);
      }
    }
    metric('pbx_backup_runs', 'Runs by kind and status (all time).', 'gauge', runSamples);
    metric('pbx_backup_outbox_pending', 'Outbox messages not yet published.', 'gauge', [[{}, Number(outbox[0]?.n ?? 0)]]);
    metric('pbx_backup_outbox_oldest_pending_seconds', 'Age of the oldest unpublished outbox message.', 'gauge', [[{}, Number(outbox[0]?.age ?? 0)]]);
    const dlTotal = deadLetters.reduce((s, r) => s + Number(r.n), 0);
    metric('pbx_backup_dead_letters_open', 'Dead letters neither replayed nor discarded.', 'gauge', [[{}, dlTotal]]);
    metric('pbx_backup_dead_letters_open_by_queue', 'Open dead letters per consumer queue.', 'gauge', deadLetters.map((r) => [{ queue: String(r.queue) }, Number(r.n)]));
    metric('pbx_backup_configurations', 'Configurations (not deleted) by kind.', 'gauge', ['backup', 'archive'].map((kind) => [{ kind }, Number(configurations.find((r) => r.kind === kind)?.n ?? 0)]));
    metric('pbx_backup_deliveries', 'Deliveries by destination type and status (all time).', 'gauge', deliveries.map((r) => [{ type: String(r.type), status: String(r.status) }, Number(r.n)]));
    metric('pbx_backup_last_success_timestamp_seconds', 'Latest successful run of any configuration, by kind (0 = never).', 'gauge', ['backup', 'archive'].map((kind) => [{ kind }, Number(lastSuccess.find((r) => r.kind === kind)?.t ?? 0)]));
    metric('pbx_backup_api_uptime_seconds', 'Seconds since the api process started.', 'gauge', [[{}, Math.round(process.uptime())]]);
    return `${out.join('\n')}\n`;
  }
}

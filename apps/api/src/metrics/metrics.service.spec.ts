import { register } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { AmqpConnection } from '@pbx/messaging';
import { PbxMetrics } from '@pbx/observability';
import { readStateSnapshot } from '@pbx/runtime';
import { MetricsService } from './metrics.service';

/** A DataSource that answers each aggregate of a scrape from `rows` (by the table it reads). */
function fakeDataSource(rows: Record<string, unknown[]>): DataSource {
  const table = (sql: string) => /FROM (runs|outbox|dead_letters|configurations|deliveries)\b/.exec(sql)?.[1] ?? '';
  return {
    query: async (sql: string) => (table(sql) === 'configurations' && sql.includes('last_success_at') ? rows.lastSuccess : rows[table(sql)]) ?? [],
  } as unknown as DataSource;
}

/** The api's metrics over `ds`, with the state every app exports read from the same rows and a broker of idle queues. */
function metricsService(ds: DataSource): MetricsService {
  const shared = new PbxMetrics();
  const amqp = { queueStats: async () => ({ messages: 0, consumers: 1 }) } as unknown as AmqpConnection;
  shared.collectState(() => readStateSnapshot(ds, amqp));
  return new MetricsService(ds, shared);
}

describe('MetricsService', () => {
  const state: Record<string, unknown[]> = {
    runs: [{ kind: 'backup', status: 'queued', n: 2 }],
    outbox: [{ n: 3, age: 1.5, deferred: 7 }],
    dead_letters: [{ queue: 'packer.jobs.v1', n: 4 }, { queue: 'dispatcher.deliver.v1', n: 1 }],
    configurations: [{ kind: 'backup', n: 5 }],
    deliveries: [{ type: 'sftp', status: 'failed', n: 6 }],
    lastSuccess: [{ kind: 'backup', t: 1700000000 }],
  };

  it('renders the same names, labels and values as the hand-written exposition did', async () => {
    const text = await metricsService(fakeDataSource(state)).render();
    expect(text).toContain('# HELP pbx_backup_runs Runs by kind and status (all time).\n# TYPE pbx_backup_runs gauge\n');
    expect(text).toMatch(/^pbx_backup_runs\{kind="backup",status="queued"\} 2$/m);
    expect(text).toMatch(/^pbx_backup_runs\{kind="archive",status="queued"\} 0$/m);
    expect(text).toMatch(/^pbx_backup_outbox_pending 3$/m);
    expect(text).toMatch(/^pbx_backup_outbox_oldest_pending_seconds 1.5$/m);
    expect(text).toMatch(/^pbx_backup_outbox_deferred 7$/m);
    expect(text).toMatch(/^pbx_backup_dead_letters_open 5$/m);
    expect(text).toMatch(/^pbx_backup_dead_letters_open_by_queue\{queue="packer.jobs.v1"\} 4$/m);
    expect(text).toMatch(/^pbx_backup_configurations\{kind="archive"\} 0$/m);
    expect(text).toMatch(/^pbx_backup_deliveries\{type="sftp",status="failed"\} 6$/m);
    expect(text).toMatch(/^pbx_backup_last_success_timestamp_seconds\{kind="backup"\} 1700000000$/m);
    expect(text).toMatch(/^pbx_backup_api_uptime_seconds \d+$/m);
    expect(text).toMatch(/^pbx_backup_queue_consumers\{queue="packer.jobs.v1"\} 1$/m);
    expect(text).toContain('# TYPE pbx_backup_run_duration_seconds histogram');
  });

  it('reads the state anew on every scrape: a label set that is gone is not shown again', async () => {
    const rows = { ...state };
    const metrics = metricsService(fakeDataSource(rows));
    expect(await metrics.render()).toContain('pbx_backup_dead_letters_open_by_queue{queue="dispatcher.deliver.v1"}');
    rows.dead_letters = [{ queue: 'packer.jobs.v1', n: 1 }];
    const text = await metrics.render();
    expect(text).not.toContain('pbx_backup_dead_letters_open_by_queue{queue="dispatcher.deliver.v1"}');
    expect(text).toMatch(/^pbx_backup_dead_letters_open 1$/m);
  });

  it('keeps its metrics out of the global registry', async () => {
    metricsService(fakeDataSource(state));
    expect(await register.metrics()).not.toContain('pbx_backup');
  });
});

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric this service exports, named once (docs/operations.md "Metrics" lists them; the
 * alert rules in deploy/prometheus and the dashboard in deploy/grafana use these names, and a
 * test checks they exist here). Two sorts:
 * - events, counted by the process they happen in (sum them over instances): run durations,
 *   deliveries, bytes, lock times;
 * - state, read from Postgres and RabbitMQ at scrape time by every app (the same value from
 *   each: take max() over instances), so it is there as long as any app runs.
 */
export const METRICS = {
  // events
  runDuration: 'pbx_backup_run_duration_seconds',
  deliveries: 'pbx_backup_deliveries_total',
  deliveredBytes: 'pbx_backup_delivered_bytes_total',
  lockHeld: 'pbx_backup_lock_held_seconds',
  lockWait: 'pbx_backup_lock_wait_seconds',
  // state
  queueMessages: 'pbx_backup_queue_messages',
  queueConsumers: 'pbx_backup_queue_consumers',
  outboxPending: 'pbx_backup_outbox_pending',
  outboxOldestPending: 'pbx_backup_outbox_oldest_pending_seconds',
  outboxDeferred: 'pbx_backup_outbox_deferred',
  deadLettersOpen: 'pbx_backup_dead_letters_open',
  deadLettersOpenByQueue: 'pbx_backup_dead_letters_open_by_queue',
  configurationLastSuccess: 'pbx_backup_configuration_last_success_timestamp_seconds',
  configurationInterval: 'pbx_backup_configuration_interval_seconds',
  configurationCreated: 'pbx_backup_configuration_created_timestamp_seconds',
  // the api's own (apps/api/src/metrics)
  runs: 'pbx_backup_runs',
  configurations: 'pbx_backup_configurations',
  deliveriesByStatus: 'pbx_backup_deliveries',
  lastSuccess: 'pbx_backup_last_success_timestamp_seconds',
  apiUptime: 'pbx_backup_api_uptime_seconds',
} as const;
export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** What every app reads at scrape time (libs/runtime StateMetricsReader). */
export interface StateSnapshot {
  /** Per consumer queue (its wire name without namespace); null when the broker did not answer. */
  queues: { queue: string; messages: number; consumers: number }[];
  outbox: { pending: number; oldestPendingSeconds: number; deferred: number };
  deadLettersByQueue: { queue: string; open: number }[];
  /** Scheduled configurations (manual ones have no interval to be late by). */
  configurations: { id: string; name: string; kind: string; intervalSeconds: number; lastSuccess: number; created: number }[];
}

// A backup of a PBX takes seconds to hours; a lock is held as long and waited for up to MAINTENANCE_DEFER_MS and more.
const LONG_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800];

/**
 * One registry per app (several apps share a process in tests) with the event metrics ready
 * to record. State gauges are added by `collectState`.
 */
export class PbxMetrics {
  readonly registry = new Registry();
  readonly runDuration: Histogram<'kind' | 'result'>;
  readonly deliveries: Counter<'destination_kind' | 'code'>;
  readonly deliveredBytes: Counter<'destination_kind'>;
  readonly lockHeld: Histogram<'holder'>;
  readonly lockWait: Histogram<'holder'>;
  private readState: (() => Promise<StateSnapshot | null>) | undefined;
  // The read of the current scrape; collect is called synchronously inside registry.metrics(),
  // so concurrent scrapes each see their own.
  private state: Promise<StateSnapshot | null> | undefined;

  constructor() {
    const registers = [this.registry];
    this.runDuration = new Histogram({
      name: METRICS.runDuration,
      help: 'Runs from creation to their final status, by kind (backup, archive) and result (succeeded, failed, cancelled …).',
      labelNames: ['kind', 'result'],
      buckets: LONG_BUCKETS,
      registers,
    });
    this.deliveries = new Counter({
      name: METRICS.deliveries,
      help: 'Deliveries that ended, by destination kind and code (successful, or the failure code; cancelled when their run was).',
      labelNames: ['destination_kind', 'code'],
      registers,
    });
    this.deliveredBytes = new Counter({
      name: METRICS.deliveredBytes,
      help: 'Bytes of archives delivered successfully, by destination kind.',
      labelNames: ['destination_kind'],
      registers,
    });
    this.lockHeld = new Histogram({
      name: METRICS.lockHeld,
      help: 'How long the PBX maintenance lock was held, by holder kind (backup, archive, restore).',
      labelNames: ['holder'],
      buckets: LONG_BUCKETS,
      registers,
    });
    this.lockWait = new Histogram({
      name: METRICS.lockWait,
      help: 'How long a run waited for the PBX maintenance lock before it got it (0 when free at once), by holder kind.',
      labelNames: ['holder'],
      buckets: [0, ...LONG_BUCKETS],
      registers,
    });
  }

  /**
   * Adds the state gauges, filled from one `read()` per scrape (beginScrape; each gauge's
   * collect awaits it). A failed read leaves them empty for that scrape rather than failing it.
   */
  collectState(read: () => Promise<StateSnapshot>): void {
    this.readState = () => read().catch(() => null);
    const snapshot = (): Promise<StateSnapshot | null> => (this.state ??= this.readState?.() ?? Promise.resolve(null));
    const registers = [this.registry];
    const gauge = <L extends string>(name: MetricName, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, s: StateSnapshot) => void) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const s = await snapshot();
          this.reset();
          if (s) fill(this, s);
        },
      });
    gauge(METRICS.queueMessages, 'Messages ready in each consumer queue (RabbitMQ).', ['queue'], (g, s) => s.queues.forEach((q) => g.set({ queue: q.queue }, q.messages)));
    gauge(METRICS.queueConsumers, 'Consumers attached to each consumer queue (RabbitMQ); 0 = no worker serves it.', ['queue'], (g, s) =>
      s.queues.forEach((q) => g.set({ queue: q.queue }, q.consumers)),
    );
    gauge(METRICS.outboxPending, 'Outbox messages due and not yet published (held-back ones not counted).', [], (g, s) => g.set(s.outbox.pending));
    gauge(METRICS.outboxOldestPending, 'How long the oldest due, unpublished outbox message has waited (held-back ones count from when they became due).', [], (g, s) =>
      g.set(s.outbox.oldestPendingSeconds),
    );
    gauge(METRICS.outboxDeferred, 'Outbox messages held back until later on purpose (deferred runs, scheduled delivery retries).', [], (g, s) => g.set(s.outbox.deferred));
    gauge(METRICS.deadLettersOpen, 'Dead letters neither replayed nor discarded.', [], (g, s) => g.set(s.deadLettersByQueue.reduce((sum, q) => sum + q.open, 0)));
    gauge(METRICS.deadLettersOpenByQueue, 'Open dead letters per consumer queue.', ['queue'], (g, s) => s.deadLettersByQueue.forEach((q) => g.set({ queue: q.queue }, q.open)));
    const cfg = ['configuration_id', 'configuration', 'kind'] as const;
    const labelsOf = (c: StateSnapshot['configurations'][number]) => ({ configuration_id: c.id, configuration: c.name, kind: c.kind });
    gauge(METRICS.configurationLastSuccess, 'Latest successful run of each scheduled configuration (0 = never).', cfg, (g, s) =>
      s.configurations.forEach((c) => g.set(labelsOf(c), c.lastSuccess)),
    );
    gauge(METRICS.configurationInterval, 'Nominal interval of each scheduled configuration (hourly 3600 … monthly 31 days).', cfg, (g, s) =>
      s.configurations.forEach((c) => g.set(labelsOf(c), c.intervalSeconds)),
    );
    gauge(METRICS.configurationCreated, 'When each scheduled configuration was created (a new one is not late yet).', cfg, (g, s) =>
      s.configurations.forEach((c) => g.set(labelsOf(c), c.created)),
    );
  }

  /** Starts a scrape: the state gauges of this scrape all take one fresh read. */
  beginScrape(): void {
    this.state = this.readState?.();
  }

  render(): Promise<string> {
    this.beginScrape();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

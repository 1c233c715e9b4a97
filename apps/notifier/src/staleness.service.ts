import { Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppEnv } from '@pbx/config';
import { NOMINAL_INTERVAL_MS, type RunKind, type ScheduledInterval } from '@pbx/contracts';
import { withCorrelation, type Logger } from '@pbx/observability';
import { InjectEnv, InjectLogger } from '@pbx/runtime';
import { MailAdapter, deterministicMessageId } from './mail.adapter';
import { NotificationsRepository, type NotificationKey } from './notifications.repository';
import { publicBaseUrl } from './report.service';
import { langOf, renderStaleAlert, type StaleAlertModel } from './templates';
import { WebhooksService } from './webhooks.service';

/** Nominal length of each schedule interval (libs/contracts, also the metric the stale-backup alert reads). */
export const INTERVAL_MS: Readonly<Record<ScheduledInterval, number>> = NOMINAL_INTERVAL_MS;

/** A configuration is stale once its last success is older than this: two missed intervals plus one maintenance deferral. */
export function stalenessThresholdMs(interval: ScheduledInterval, deferAllowanceMs: number): number {
  return 2 * INTERVAL_MS[interval] + deferAllowanceMs;
}

interface StaleRow {
  id: string;
  kind: RunKind;
  name: string;
  report_to: string;
  language: string;
  interval: ScheduledInterval;
  timezone: string;
  last_success_at: Date | null;
  created_at: Date;
  next_run_at: Date | null;
}

/**
 * Shared WHERE clause: scheduled, live, not yet alerted, last success (or creation) older
 * than its threshold. $1 = now, $2 = deferral allowance (ms), $3 = interval lengths (jsonb).
 */
const STALE_PERIOD = `c.deleted_at IS NULL AND c.ephemeral = false
  AND ($3::jsonb ->> c."interval") IS NOT NULL
  AND COALESCE(c.last_success_at, c.created_at)
      + ((2 * ($3::jsonb ->> c."interval")::bigint + $2::bigint) * interval '1 millisecond') < $1::timestamptz`;
const STALE = `c.stale_alerted_at IS NULL AND ${STALE_PERIOD}`;
/** When the stale period began: when its alert mail went, else when the threshold passed. */
const STALE_SINCE = `COALESCE(c.stale_alerted_at, COALESCE(c.last_success_at, c.created_at)
      + ((2 * ($3::jsonb ->> c."interval")::bigint + $2::bigint) * interval '1 millisecond'))`;
/**
 * How long a staleness webhook call that keeps failing is tried again (on every check) after
 * the stale period began. Run events are retried a bounded number of times and then
 * dead-lettered; a staleness call has no message to dead-letter, so without a bound a receiver
 * that is gone would be called every STALENESS_CHECK_MS (each call up to WEBHOOK_TIMEOUT_MS,
 * one after another) for as long as the configuration stays stale. A day covers a receiver's
 * outage; the mail went anyway, and the stale-backup alert keeps firing in Prometheus.
 */
export const STALENESS_WEBHOOK_RETRY_MS = 24 * 3_600_000;
/**
 * Stale now (alerted or not) with a webhook that asked for `staleness`, within the retry
 * window ($4 ms after the period began): its call is claimed per stale period.
 */
const STALE_WITH_WEBHOOKS = `${STALE_PERIOD} AND jsonb_path_exists(c.webhooks, '$[*].events[*] ? (@ == "staleness")')
  AND ${STALE_SINCE} > $1::timestamptz - $4::bigint * interval '1 millisecond'`;
const STALE_COLUMNS = 'c.id, c.kind, c.name, c.report_to, c.language, c."interval", c.timezone, c.last_success_at, c.created_at, c.next_run_at';

/**
 * The staleness alarm (beyond STARFACE): every STALENESS_CHECK_MS, one alert mail per
 * configuration that has gone too long without a successful run. It fires once
 * (stale_alerted_at) and re-arms when a success clears stale_alerted_at. Replicas
 * coordinate through row locks: a configuration being alerted by one is skipped by the others.
 */
@Injectable()
export class StalenessService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  private readonly log: Logger;

  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: NotificationsRepository,
    private readonly mail: MailAdapter,
    @InjectEnv() private readonly env: AppEnv,
    @InjectLogger() logger: Logger,
    @Optional() private readonly webhooks?: WebhooksService,
  ) {
    this.log = logger.child({ component: 'staleness' });
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass: alerts every stale configuration it can claim; returns their ids. */
  async checkOnce(now: Date = new Date()): Promise<string[]> {
    const params = [now.toISOString(), this.env.MAINTENANCE_DEFER_MS, JSON.stringify(INTERVAL_MS)];
    const candidates: { id: string }[] = await this.dataSource.query(`SELECT c.id FROM configurations c WHERE ${STALE} ORDER BY c.created_at LIMIT 100`, params);
    const alerted: string[] = [];
    for (const { id } of candidates) {
      try {
        if (await withCorrelation(id, () => this.alert(id, params))) alerted.push(id);
      } catch (err) {
        // Next pass tries again: the failed transaction left stale_alerted_at and sent_at unset.
        this.log.warn({ configurationId: id, err: err instanceof Error ? err.message : String(err) }, 'staleness alert not sent; retrying on the next check');
      }
    }
    if (this.webhooks) await this.callWebhooks(now, params, this.webhooks);
    return alerted;
  }

  /**
   * The staleness webhooks: one call per (stale period, webhook), claimed in `notifications`
   * apart from the mail. A failed call is tried again on every check while the configuration
   * stays stale, for STALENESS_WEBHOOK_RETRY_MS; a success ends the period (a new one is a new call).
   */
  private async callWebhooks(now: Date, params: (string | number)[], webhooks: WebhooksService): Promise<void> {
    const rows: (StaleRow & { stale_since: Date })[] = await this.dataSource.query(
      `SELECT ${STALE_COLUMNS}, ${STALE_SINCE} AS stale_since FROM configurations c WHERE ${STALE_WITH_WEBHOOKS} ORDER BY c.created_at LIMIT 100`,
      [...params, STALENESS_WEBHOOK_RETRY_MS],
    );
    for (const row of rows) {
      const since = row.last_success_at ?? row.created_at;
      try {
        await withCorrelation(row.id, () =>
          webhooks.notify(
            {
              configurationId: row.id,
              event: 'staleness',
              subjectId: row.id,
              kind: `stale:${since.toISOString()}`,
              link: this.link(row),
              language: langOf(row.language),
            },
            async () => renderStaleAlert(await this.model(this.dataSource.manager, row), langOf(row.language)),
          ),
        );
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        // The last try of the window: say loudly that this stale period's call is given up.
        if (row.stale_since.getTime() + STALENESS_WEBHOOK_RETRY_MS <= now.getTime() + this.env.STALENESS_CHECK_MS) {
          this.log.error({ configurationId: row.id, err: error }, 'staleness webhook failed for a day since the configuration became stale; not tried again in this stale period');
        } else this.log.warn({ configurationId: row.id, err: error }, 'staleness webhook not called; retrying on the next check');
      }
    }
  }

  private link(row: StaleRow): string {
    return `${publicBaseUrl(this.env)}/api/v1/${row.kind === 'archive' ? 'archive-configurations' : 'backup-configurations'}/${row.id}`;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.checkOnce()
        .catch((err) => this.log.error({ err }, 'staleness check failed'))
        .finally(() => this.schedule());
    }, this.env.STALENESS_CHECK_MS);
    this.timer.unref();
  }

  private alert(id: string, params: (string | number)[]): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      // SKIP LOCKED: another replica is alerting this one right now.
      const rows: StaleRow[] = await manager.query(
        `SELECT ${STALE_COLUMNS} FROM configurations c WHERE c.id = $4 AND ${STALE} FOR UPDATE SKIP LOCKED`,
        [...params, id],
      );
      const row = rows[0];
      if (!row) return false;
      const since = row.last_success_at ?? row.created_at;
      const key: NotificationKey = { subjectId: row.id, kind: `stale:${since.toISOString()}` };
      const claimed = await this.notifications.claim(manager, key, row.report_to);
      if (claimed) {
        const model = await this.model(manager, row);
        await this.mail.send({
          to: row.report_to,
          ...renderStaleAlert(model, langOf(row.language)),
          messageId: deterministicMessageId(key.subjectId, key.kind, this.env.MAIL_FROM),
          headers: { 'X-PBX-Backup-Configuration': row.id, 'X-PBX-Backup-Report': 'stale' },
        });
        await this.notifications.markSent(manager, key, row.report_to);
      }
      await manager.query('UPDATE configurations SET stale_alerted_at = $2 WHERE id = $1', [row.id, params[0]]);
      if (claimed) this.log.warn({ configurationId: row.id, since: since.toISOString(), to: row.report_to }, 'staleness alert sent');
      return claimed;
    });
  }

  private async model(manager: EntityManager, row: StaleRow): Promise<StaleAlertModel> {
    const runs: { id: string; status: string; at: Date }[] = await manager.query(
      'SELECT id, status, COALESCE(finished_at, started_at, created_at) AS at FROM runs WHERE configuration_id = $1 ORDER BY created_at DESC LIMIT 1',
      [row.id],
    );
    const path = row.kind === 'archive' ? 'archive-configurations' : 'backup-configurations';
    return {
      kind: row.kind,
      configurationId: row.id,
      configurationName: row.name,
      interval: row.interval,
      lastSuccessAt: row.last_success_at,
      createdAt: row.created_at,
      thresholdMs: stalenessThresholdMs(row.interval, this.env.MAINTENANCE_DEFER_MS),
      lastRun: runs[0] ?? null,
      nextRunAt: row.next_run_at,
      timezone: row.timezone,
      link: `${publicBaseUrl(this.env)}/api/v1/${path}/${row.id}`,
    };
  }
}

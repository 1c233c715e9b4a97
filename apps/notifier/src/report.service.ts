import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AppEnv } from '@pbx/config';
import { isVerificationFailure, type PayloadOf, type RunKind } from '@pbx/contracts';
import { PermanentMessageError } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';
import { ConfigurationEntity, DeliveryEntity, DestinationEntity, isConfigurationRun, RestoreEntity, RunEntity, type ConfigurationRun } from '@pbx/persistence';
import { InjectEnv, InjectLogger } from '@pbx/runtime';
import { MailAdapter, deterministicMessageId } from './mail.adapter';
import { NotificationsRepository, type NotificationKey } from './notifications.repository';
import { WebhooksService } from './webhooks.service';
import { langOf, renderRestoreReport, renderRunReport, renderVerificationAlert, type FailedStep, type RenderedMail, type RunOutcome, type RunReportModel } from './templates';

export interface RunFailure {
  kind: RunKind;
  runId: string;
  status: 'failed' | 'partially_failed';
  step: FailedStep;
  error: string | null;
}

export interface RunSuccess {
  kind: RunKind;
  runId: string;
}

/** sent: mailed now; already-sent: a duplicate event; not-wanted: success reports are off for this configuration. */
export type ReportOutcome = 'sent' | 'already-sent' | 'not-wanted';

/** Base URL the API is reachable under, for links in mails. */
export function publicBaseUrl(env: Pick<AppEnv, 'PUBLIC_URL' | 'PORT'>): string {
  return (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
}

/**
 * Run reports: which runs get a mail, what it says, and exactly one per run and kind.
 * Reads the run, its deliveries and its configuration's next run; never destinations
 * (their settings and secrets have no place in a mail).
 */
@Injectable()
export class ReportService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: NotificationsRepository,
    private readonly mail: MailAdapter,
    private readonly webhooks: WebhooksService,
    @InjectEnv() private readonly env: AppEnv,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  reportFailure(event: RunFailure): Promise<ReportOutcome> {
    const kind = event.kind === 'backup' ? 'backup.failed' : 'archive.failed';
    return this.report(event.runId, kind, event.status, { step: event.step, error: event.error });
  }

  /** Successes are mailed only when the run's configuration asked for it (snapshot.notifyOnSuccess), and go to the webhooks that asked for `success`. */
  reportSuccess(event: RunSuccess): Promise<ReportOutcome> {
    const kind = event.kind === 'backup' ? 'backup.succeeded' : 'archive.succeeded';
    return this.report(event.runId, kind, 'succeeded', null);
  }

  /**
   * A cancelled run is no failure: no mail, only a log line with what it had stored by then
   * (copies delivered before the cancel stay at their destinations).
   */
  async noteCancelled(event: PayloadOf<'run.cancelled'>): Promise<ReportOutcome> {
    const deliveries = await this.dataSource.manager.find(DeliveryEntity, { where: { runId: event.runId }, select: { status: true, target: true } });
    const stored = deliveries.filter((d) => d.status === 'succeeded').map((d) => d.target);
    this.logger.info({ component: 'report', runId: event.runId, kind: event.kind, previousStatus: event.previousStatus, stored }, 'run cancelled; no report mailed');
    return 'not-wanted';
  }

  /**
   * A read-back that found a copy changed or gone is mailed like a failed backup (always);
   * one mail per verification (keyed by its message), so every new finding is told.
   */
  async reportVerification(messageId: string, event: PayloadOf<'run.verified'>): Promise<ReportOutcome> {
    if (!event.results.some((r) => isVerificationFailure(r.result))) return 'not-wanted';
    const run = await this.dataSource.manager.findOne(RunEntity, { where: { id: event.runId } });
    if (!run) throw new PermanentMessageError(`run ${event.runId} does not exist`);
    if (!isConfigurationRun(run)) throw new PermanentMessageError(`run ${event.runId} is a ${run.kind} run: it has no stored copies to verify`);
    const [deliveries, configuration] = await Promise.all([
      this.dataSource.manager.find(DeliveryEntity, { where: { runId: run.id } }),
      this.dataSource.manager.findOne(ConfigurationEntity, { where: { id: run.configurationId }, select: { id: true, timezone: true } }),
    ]);
    const targets = new Map(deliveries.map((d) => [d.id, d.target]));
    const rendered = renderVerificationAlert(
      {
        configurationName: run.configurationName || run.snapshot.name,
        runId: run.id,
        fileName: run.artifactFileName ?? '',
        runAt: run.startedAt,
        timezone: configuration?.timezone ?? 'UTC',
        checks: event.results.map((r) => ({ destinationType: r.destinationType, target: targets.get(r.deliveryId) ?? '', result: r.result })),
        link: `${publicBaseUrl(this.env)}/api/v1/runs/${run.id}`,
      },
      langOf(run.snapshot.language),
    );
    return this.send(run.id, { subjectId: messageId, kind: 'run.verify-failed' }, run.snapshot.reportTo, rendered);
  }

  /**
   * A restore's result, once per restore: to the report-to address of the configuration the
   * archive came from (a run's, a destination's), for an upload to RESTORE_REPORT_TO.
   */
  async reportRestore(restoreId: string): Promise<ReportOutcome> {
    const restore = await this.dataSource.manager.findOne(RestoreEntity, { where: { id: restoreId } });
    if (!restore) throw new PermanentMessageError(`restore ${restoreId} does not exist`);
    if (restore.status !== 'succeeded' && restore.status !== 'failed' && restore.status !== 'rolled_back') return 'not-wanted';
    const configuration = await this.configurationOf(restore);
    const to = configuration?.reportTo ?? this.env.RESTORE_REPORT_TO;
    if (!to) return 'not-wanted';
    const source = restore.source;
    const rendered = renderRestoreReport(
      {
        restoreId,
        status: restore.status,
        preview: restore.preview,
        source: 'runId' in source ? `run ${source.runId}` : 'uploadId' in source ? `upload ${source.uploadId}` : `${configuration?.name ?? ''}: ${source.file}`,
        mode: restore.mode,
        sections: restore.sections,
        safetyBackup: restore.safetyBackup,
        error: restore.error,
        finishedAt: restore.finishedAt,
        timezone: configuration?.timezone ?? 'UTC',
        link: `${publicBaseUrl(this.env)}/api/v1/restores/${restoreId}`,
      },
      langOf(configuration?.language),
    );
    return this.send(restoreId, { subjectId: restoreId, kind: 'restore.final' }, to, rendered);
  }

  private async configurationOf(restore: RestoreEntity): Promise<ConfigurationEntity | null> {
    const m = this.dataSource.manager;
    const source = restore.source;
    if ('runId' in source) {
      const run = await m.findOne(RunEntity, { where: { id: source.runId } });
      // A safety run (restoring it undoes a restore) belongs to no configuration.
      return run?.configurationId ? m.findOne(ConfigurationEntity, { where: { id: run.configurationId }, withDeleted: true }) : null;
    }
    if ('destinationId' in source) {
      const dest = await m.findOne(DestinationEntity, { where: { id: source.destinationId } });
      return dest ? m.findOne(ConfigurationEntity, { where: { id: dest.configurationId }, withDeleted: true }) : null;
    }
    return null;
  }

  private async report(runId: string, kind: string, outcome: RunOutcome, failure: { step: FailedStep; error: string | null } | null): Promise<ReportOutcome> {
    const log = this.logger.child({ component: 'report', runId, kind });
    const run = await this.dataSource.manager.findOne(RunEntity, { where: { id: runId } });
    // The run row is committed before its event leaves the outbox, so a missing run is bad data.
    if (!run) throw new PermanentMessageError(`run ${runId} does not exist`);
    if (!isConfigurationRun(run)) throw new PermanentMessageError(`run ${runId} is a ${run.kind} run: no report is made for it`);
    let rendered: RenderedMail | undefined;
    const render = async () => (rendered ??= renderRunReport(await this.buildModel(run, outcome, failure), langOf(run.snapshot.language)));
    // Mail and webhooks are tried alike, each claimed on its own: a retry redoes only what failed.
    let result: ReportOutcome = 'not-wanted';
    let mailError: unknown;
    if (outcome === 'succeeded' && !run.snapshot.notifyOnSuccess) log.debug('success mails are off for this configuration');
    else result = await this.send(run.id, { subjectId: run.id, kind }, run.snapshot.reportTo, await render()).catch((err: unknown) => ((mailError = err), 'not-wanted' as const));
    const webhookError = await this.webhooks
      .notify(
        {
          configurationId: run.configurationId,
          event: outcome === 'succeeded' ? 'success' : 'failure',
          subjectId: run.id,
          kind,
          run: { id: run.id, kind: run.kind, status: outcome },
          link: `${publicBaseUrl(this.env)}/api/v1/runs/${run.id}`,
          language: langOf(run.snapshot.language),
        },
        render,
      )
      .then(() => undefined, (err: unknown) => err);
    if (mailError !== undefined) throw mailError;
    if (webhookError !== undefined) throw webhookError;
    return result;
  }

  /** Claim, send and mark in one transaction: a duplicate waits on the row lock, a failed send leaves nothing marked sent. */
  private async send(runId: string, key: NotificationKey, to: string, rendered: RenderedMail): Promise<ReportOutcome> {
    const log = this.logger.child({ component: 'report', runId, kind: key.kind });
    const result = await this.dataSource.transaction(async (manager): Promise<ReportOutcome> => {
      if (!(await this.notifications.claim(manager, key, to))) return 'already-sent';
      await this.mail.send({
        to,
        ...rendered,
        messageId: deterministicMessageId(key.subjectId, key.kind, this.env.MAIL_FROM),
        headers: { 'X-PBX-Backup-Run': runId, 'X-PBX-Backup-Report': key.kind },
      });
      await this.notifications.markSent(manager, key, to);
      return 'sent';
    });
    if (result === 'sent') log.info({ to }, 'run report sent');
    else log.info('run report was already sent; skipping the duplicate');
    return result;
  }

  private async buildModel(run: ConfigurationRun, outcome: RunOutcome, failure: { step: FailedStep; error: string | null } | null): Promise<RunReportModel> {
    const [deliveries, configuration] = await Promise.all([
      this.dataSource.manager.find(DeliveryEntity, { where: { runId: run.id } }),
      this.dataSource.manager.findOne(ConfigurationEntity, { where: { id: run.configurationId }, select: { id: true, nextRunAt: true, timezone: true, deletedAt: true } }),
    ]);
    // Order as the configuration lists its destinations; ones not in the snapshot go last.
    const order = new Map(run.snapshot.destinations.map((d, i) => [d.id, i]));
    deliveries.sort((a, b) => (order.get(a.destinationId) ?? 1e6) - (order.get(b.destinationId) ?? 1e6) || a.target.localeCompare(b.target));
    return {
      kind: run.kind,
      outcome,
      configurationName: run.configurationName || run.snapshot.name,
      runId: run.id,
      trigger: run.trigger,
      catchUp: run.catchUp,
      scheduledFor: run.scheduledFor,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      failedStep: failure?.step ?? null,
      error: failure ? (failure.error ?? run.error) : null,
      deliveries: deliveries.map((d) => ({ type: d.type, target: d.target, status: d.status, code: d.code, error: d.error, location: d.location })),
      deferrals: run.deferrals?.length ?? 0,
      artifact: run.artifactFileName && run.artifactSize !== null ? { fileName: run.artifactFileName, size: run.artifactSize } : null,
      counts: run.counts,
      // A deleted configuration has no next run, whatever its row still says.
      nextRunAt: configuration && !configuration.deletedAt ? configuration.nextRunAt : null,
      timezone: configuration?.timezone ?? 'UTC',
      link: `${publicBaseUrl(this.env)}/api/v1/runs/${run.id}`,
    };
  }
}

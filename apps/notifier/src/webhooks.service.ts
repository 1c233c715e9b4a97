import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { WebhookEvent, WebhookSettings } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import { ConfigurationEntity } from '@pbx/persistence';
import { InjectLogger } from '@pbx/runtime';
import type { SecretBox } from '@pbx/secrets';
import { NotificationsRepository, type NotificationKey } from './notifications.repository';
import { webhookBody, type RenderedMail } from './templates';
import { WebhookAdapter, WebhookSendError, webhookOrigin } from './webhook.adapter';

export const NOTIFIER_SECRET_BOX = Symbol('NOTIFIER_SECRET_BOX');

/** One report that may go to a configuration's webhooks. */
export interface WebhookReport {
  configurationId: string;
  event: WebhookEvent;
  /** The report's notification key (a run id or, for staleness, the configuration id; its kind). */
  subjectId: string;
  kind: string;
  run?: { id: string; kind: string; status: string };
  link: string;
  language: string;
}

export interface WebhookOutcome {
  sent: number;
  /** Already sent earlier (a redelivery, a replay, a second pass). */
  skipped: number;
}

/**
 * The notifications row of one webhook call: a uuid derived from the report and the webhook,
 * so each (report, webhook) is claimed once, whatever else the report goes to. Also the
 * delivery id receivers see (`id`, X-PBX-Backup-Delivery) and may deduplicate by.
 */
export function webhookDeliveryId(subjectId: string, kind: string, webhookId: string): string {
  const h = createHash('sha256').update(`${subjectId}\n${kind}\n${webhookId}`).digest('hex');
  // RFC 4122 layout, version 8 (custom), variant 10xx.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Reports to a configuration's webhooks, beside the mail: every webhook that asked for the
 * event gets one call, claimed in `notifications` like a mail (claim, call, mark sent in one
 * transaction), so a redelivered event or a second replica calls nobody twice and a failed
 * call leaves nothing marked. Every webhook is tried; if any failed, the error is thrown
 * afterwards so the messaging layer retries (and at last dead-letters) the event, and the
 * retry calls only those not yet marked sent.
 */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly notifications: NotificationsRepository,
    private readonly adapter: WebhookAdapter,
    @Inject(NOTIFIER_SECRET_BOX) private readonly box: SecretBox,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  /** `render` is called at most once, and only when some webhook is still to be called. */
  async notify(report: WebhookReport, render: () => RenderedMail | Promise<RenderedMail>): Promise<WebhookOutcome> {
    const configuration = await this.dataSource.manager.findOne(ConfigurationEntity, {
      where: { id: report.configurationId },
      select: { id: true, name: true, webhooks: true, webhookSecrets: true, deletedAt: true },
    });
    // A deleted configuration's webhooks went with it (its secrets are erased).
    if (!configuration || configuration.deletedAt) return { sent: 0, skipped: 0 };
    const hooks = (configuration.webhooks ?? []).filter((w) => w.events.includes(report.event));
    const outcome: WebhookOutcome = { sent: 0, skipped: 0 };
    const failures: string[] = [];
    let rendered: RenderedMail | undefined;
    for (const hook of hooks) {
      const origin = webhookOrigin(hook.url);
      const log = this.logger.child({ component: 'webhook', webhookId: hook.id, origin, kind: report.kind, subjectId: report.subjectId });
      try {
        const sent = await this.callOnce(report, configuration, hook, async () => (rendered ??= await render()));
        if (sent) {
          outcome.sent++;
          log.info('webhook called');
        } else {
          outcome.skipped++;
          log.info('webhook was already called for this report; skipping the duplicate');
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        failures.push(message);
        log.warn({ status: err instanceof WebhookSendError ? err.status : undefined, err: message }, 'webhook call failed; the event is retried');
      }
    }
    if (failures.length) throw new WebhookSendError(`${failures.length} of ${hooks.length} webhook call(s) failed: ${failures.join('; ')}`);
    return outcome;
  }

  private callOnce(report: WebhookReport, configuration: ConfigurationEntity, hook: WebhookSettings, render: () => Promise<RenderedMail>): Promise<boolean> {
    const deliveryId = webhookDeliveryId(report.subjectId, report.kind, hook.id);
    const key: NotificationKey = { subjectId: deliveryId, kind: report.kind };
    const origin = webhookOrigin(hook.url);
    return this.dataSource.transaction(async (manager) => {
      if (!(await this.notifications.claim(manager, key, origin))) return false;
      const sealed = configuration.webhookSecrets?.[hook.id];
      const secret = sealed === undefined ? undefined : this.box.open(sealed);
      const timestamp = Math.floor(Date.now() / 1000);
      const body = webhookBody(hook.format, await render(), {
        deliveryId,
        event: report.event,
        type: report.kind,
        language: report.language,
        configuration: { id: configuration.id, name: configuration.name },
        run: report.run,
        link: report.link,
        timestamp,
      });
      await this.adapter.send({ url: hook.url, body: JSON.stringify(body), secret, timestamp, deliveryId });
      await this.notifications.markSent(manager, key, origin);
      return true;
    });
  }
}

import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import type { Logger } from '@pbx/observability';
import { HostAllowlist } from '@pbx/destinations';
import { CoreModule, secretBoxFromEnv } from '@pbx/runtime';
import { MailAdapter } from './mail.adapter';
import { NotificationsRepository } from './notifications.repository';
import { ReportService } from './report.service';
import { RunEventsHandler } from './run-events.handler';
import { StalenessService } from './staleness.service';
import { WebhookAdapter } from './webhook.adapter';
import { NOTIFIER_SECRET_BOX, WebhooksService } from './webhooks.service';

class MailLifecycle implements OnApplicationShutdown {
  constructor(private readonly mail: MailAdapter) {}
  onApplicationShutdown(): void {
    this.mail.close();
  }
}

/** Failure (and optional success) reports to each configuration's report-to address and webhooks, and the staleness alarm. */
@Module({})
export class NotifierModule {
  static forRoot(env: AppEnv, logger: Logger): DynamicModule {
    return {
      module: NotifierModule,
      // No relay: the notifier writes no outbox. Dead letters are recorded by the api.
      imports: [CoreModule.forRoot({ service: 'notifier', env, logger, relay: false })],
      controllers: [RunEventsHandler],
      providers: [
        { provide: MailAdapter, useFactory: () => new MailAdapter({ smtpUrl: env.SMTP_URL, mailFrom: env.MAIL_FROM }) },
        { provide: MailLifecycle, inject: [MailAdapter], useFactory: (mail: MailAdapter) => new MailLifecycle(mail) },
        {
          provide: WebhookAdapter,
          useFactory: () => new WebhookAdapter({ timeoutMs: env.WEBHOOK_TIMEOUT_MS, hosts: HostAllowlist.parse(env.WEBHOOK_HOSTS_ALLOWED) }),
        },
        // Opens webhook signing secrets only (the notifier never reads destination secrets).
        { provide: NOTIFIER_SECRET_BOX, useFactory: () => secretBoxFromEnv(env, logger) },
        NotificationsRepository,
        WebhooksService,
        ReportService,
        StalenessService,
      ],
      exports: [ReportService, StalenessService],
    };
  }
}


import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import type { Logger } from '@pbx/observability';
import { CoreModule } from '@pbx/runtime';
import { MailAdapter } from './mail.adapter';
import { NotificationsRepository } from './notifications.repository';
import { ReportService } from './report.service';
import { RunEventsHandler } from './run-events.handler';
import { StalenessService } from './staleness.service';

class MailLifecycle implements OnApplicationShutdown {
  constructor(private readonly mail: MailAdapter) {}
  onApplicationShutdown(): void {
    this.mail.close();
  }
}

/** Failure (and optional success) reports to each configuration's report-to address, and the staleness alarm. */
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
        NotificationsRepository,
        ReportService,
        StalenessService,
      ],
      exports: [ReportService, StalenessService],
    };
  }
}


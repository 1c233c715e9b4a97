import { Module, type DynamicModule } from '@nestjs/common';
import { mkdir } from 'node:fs/promises';
import type { AppEnv } from '@pbx/config';
import { createDestinationRegistry } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { CoreModule } from '@pbx/runtime';
import { SecretBox } from '@pbx/secrets';
import { ArtifactCleanupService } from './artifact-cleanup.service';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveryService } from './delivery.service';
import { DispatcherHandler } from './dispatcher.handler';
import { DESTINATIONS, SECRET_BOX } from './dispatcher.tokens';
import { RunFinalizerService } from './run-finalizer.service';

@Module({})
export class DispatcherModule {
  static forRoot(env: AppEnv, logger: Logger): DynamicModule {
    return {
      module: DispatcherModule,
      imports: [CoreModule.forRoot({ service: 'dispatcher', env, logger, relay: true })],
      controllers: [DispatcherHandler],
      providers: [
        DeliveryService,
        DeliveriesRepository,
        RunFinalizerService,
        ArtifactCleanupService,
        {
          provide: SECRET_BOX,
          useFactory: () =>
            SecretBox.fromKeyRingOrDevKey(env.SECRETS_KEY, {
              onDevKey: () => logger.warn('SECRETS_KEY is not set: using the development key. Set SECRETS_KEY in production.'),
            }),
        },
        {
          provide: DESTINATIONS,
          useFactory: async () => {
            // The "server hard drive" root is ours to create; a USB root is not (unplugged = mountfail).
            await mkdir(env.LOCAL_BACKUP_ROOT, { recursive: true });
            return createDestinationRegistry({
              localRoot: env.LOCAL_BACKUP_ROOT,
              usbRoot: env.USB_MOUNT_ROOT,
              usbAllowUnmounted: env.USB_ALLOW_UNMOUNTED,
              smtpUrl: env.SMTP_URL,
              mailFrom: env.MAIL_FROM,
              mailMaxBytes: env.MAIL_MAX_BYTES,
              dropbox: { appKey: env.DROPBOX_APP_KEY, appSecret: env.DROPBOX_APP_SECRET, apiBase: env.DROPBOX_API_BASE },
            });
          },
        },
      ],
    };
  }
}

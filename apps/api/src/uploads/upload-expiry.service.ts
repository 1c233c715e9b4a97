import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from '@pbx/observability';
import type { UploadStore } from '@pbx/ops';

/** Removes expired uploads (UPLOAD_TTL_MS) every few minutes; any replica may, removing twice is harmless. */
export class UploadExpiryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: UploadStore,
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.store.removeExpired().then(
        (n) => n && this.logger.info({ removed: n }, 'expired uploads removed'),
        (err: unknown) => this.logger.warn({ err }, 'removing expired uploads failed; the next pass tries again'),
      );
    }, this.everyMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}

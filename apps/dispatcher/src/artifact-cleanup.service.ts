import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ARTIFACT_STORE, type ArtifactStore } from '@pbx/artifacts';
import type { AppEnv } from '@pbx/config';
import { stagedArtifactName } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import { DeliveriesRepository } from './deliveries.repository';

/**
 * Removes a run's `.sar` from the artifact store once every delivery is final and the download
 * window has passed. Rows are claimed with SKIP LOCKED so replicas share the work.
 */
@Injectable()
export class ArtifactCleanupService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly repo: DeliveriesRepository,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Inject(ARTIFACT_STORE) private readonly artifacts: ArtifactStore,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.max(1000, Math.min(60_000, Math.floor(this.env.DOWNLOAD_WINDOW_MS / 4) || 1000));
    this.timer = setInterval(() => void this.sweep().catch((err) => this.logger.warn({ err }, 'artifact cleanup failed')), every);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<number> {
    // Plain or encrypted, whichever the run staged (removing a file that is not there is fine).
    const remove = async (id: string) => {
      for (const encrypted of [false, true]) await this.artifacts.remove(stagedArtifactName(id, encrypted));
    };
    const removed = await this.repo.removeExpiredArtifacts(this.env.DOWNLOAD_WINDOW_MS, remove);
    if (removed) this.logger.info({ removed }, 'artifacts past the download window removed');
    return removed;
  }
}

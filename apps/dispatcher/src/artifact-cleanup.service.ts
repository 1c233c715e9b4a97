import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { AppEnv } from '@pbx/config';
import type { Logger } from '@pbx/observability';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';

/**
 * Removes a run's `.sar` from ARTIFACT_DIR once every delivery is final and the download
 * window has passed. Rows are claimed with SKIP LOCKED so replicas share the work.
 */
@Injectable()
export class ArtifactCleanupService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
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
    return this.dataSource.transaction(async (tx) => {
      const rows: { id: string }[] = await tx.query(
        `SELECT id FROM runs
          WHERE status IN ('succeeded', 'partially_failed', 'failed') AND artifact_file_name IS NOT NULL AND artifact_removed_at IS NULL
            AND finished_at < now() - ($1 || ' milliseconds')::interval
          ORDER BY finished_at LIMIT 100 FOR UPDATE SKIP LOCKED`,
        [String(this.env.DOWNLOAD_WINDOW_MS)],
      );
      for (const { id } of rows) {
        await rm(join(this.env.ARTIFACT_DIR, `${id}.sar`), { force: true });
        await tx.query('UPDATE runs SET artifact_removed_at = now() WHERE id = $1', [id]);
      }
      if (rows.length) this.logger.info({ removed: rows.length }, 'artifacts past the download window removed');
      return rows.length;
    });
  }
}

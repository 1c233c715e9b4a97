import { Inject, Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { ARTIFACT_STORE, type ArtifactStore } from '@pbx/artifacts';
import type { AppEnv } from '@pbx/config';
import { causeMessage, destinationConfigFromStored, stagedArtifactOf, toDeliveryError, type DestinationConfig, type DestinationRegistry } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { ProgressThrottle, type RunEntity } from '@pbx/persistence';
import { uploadWindowState } from '@pbx/scheduling';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import type { SecretBox } from '@pbx/secrets';
import { DeliveriesRepository } from './deliveries.repository';
import { CLOCK, DESTINATION_REGISTRY, SECRET_BOX, type Clock } from './dispatcher.tokens';
import { RetentionService } from './retention.service';
import { nextAttempt, type RetryPolicy } from './retry-policy';
import { RunFinalizerService } from './run-finalizer.service';

/**
 * Fans a packed run out to its destinations and uploads one delivery at a time. A
 * delivery that already succeeded is skipped, so a redelivered or replayed message never
 * writes a second file. A transient failure is the delivery's to ride out (retry-policy.ts):
 * the attempt is recorded, the next one scheduled through the outbox and the message acked;
 * the transport's own retries are left to infrastructure faults (database down, a crash).
 */
@Injectable()
export class DeliveryService {
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly repo: DeliveriesRepository,
    private readonly finalizer: RunFinalizerService,
    private readonly retention: RetentionService,
    @Inject(DESTINATION_REGISTRY) private readonly destinations: DestinationRegistry,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Inject(ARTIFACT_STORE) private readonly artifacts: ArtifactStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.retryPolicy = {
      retryForMs: env.DELIVERY_RETRY_FOR_MS,
      firstDelayMs: env.DELIVERY_RETRY_FIRST_DELAY_MS,
      maxDelayMs: env.DELIVERY_RETRY_MAX_DELAY_MS,
      maxAttempts: env.DELIVERY_MAX_ATTEMPTS,
    };
  }

  async fanOut(runId: string): Promise<void> {
    const run = await this.repo.findRun(runId);
    if (!run) return;
    if (run.status === 'cancelled') {
      this.logger.info('run cancelled before its deliveries were planned; nothing is delivered');
      return;
    }
    const planned = [];
    for (const { id, type } of run.snapshot.destinations) {
      const dest = await this.repo.findDestination(id);
      let target: string = type;
      if (dest) {
        try {
          target = this.destinations.label(this.configOf(dest.type, dest.settings, dest.secrets));
        } catch {
          /* label stays the bare type; the delivery itself reports the problem */
        }
      }
      planned.push({ destinationId: id, type, target });
    }
    const created = await this.repo.fanOut(runId, planned);
    this.logger.info({ destinations: planned.length, created }, 'deliveries planned');
    if (!planned.length) await this.finalizer.finalizeIfDone(runId);
  }

  async deliver(deliveryId: string): Promise<void> {
    const delivery = await this.repo.findDelivery(deliveryId);
    if (!delivery) return;
    // Final already, yet the message came back: closing the run may be what failed last time.
    if (delivery.status === 'succeeded' || delivery.status === 'failed') {
      await this.finalizer.finalizeIfDone(delivery.runId);
      return;
    }
    const run = await this.repo.findRun(delivery.runId);
    if (!run) return;
    const log = this.logger.child({ deliveryId, destinationType: delivery.type });
    if (run.status === 'cancelled') {
      // Not started (or its dispatcher died mid-upload): a cancelled run starts no upload.
      await this.repo.cancel(delivery.id);
      log.info('run cancelled; delivery not attempted');
      return;
    }

    const dest = await this.repo.findDestination(delivery.destinationId);
    if (!dest) return this.finish(run, () => this.repo.fail(delivery, 'notFound', 'the destination was removed from the configuration'));
    let config: DestinationConfig;
    try {
      config = this.configOf(dest.type, dest.settings, dest.secrets);
    } catch {
      return this.finish(run, () => this.repo.fail(delivery, 'authFailed', 'stored credentials cannot be decrypted (was SECRETS_KEY changed without keeping the old key?)'));
    }
    const artifact = stagedArtifactOf(run.id, run.artifactFileName);
    const size = (await this.artifacts.stat(artifact))?.size ?? null;
    if (size === null || !run.artifactFileName || !run.artifactSha256) {
      return this.finish(run, () => this.repo.fail(delivery, 'notFound', 'the packed archive is no longer in the artifact store'));
    }
    const { artifactFileName, artifactSha256 } = run;

    // Outside the configuration's upload windows an attempt (the first or a retry) does not
    // start: the delivery waits for the window, and the wait is no failure and costs no retry time.
    const now = this.clock.now();
    const window = uploadWindowState(run.snapshot.uploadWindows ?? [], run.snapshot.timezone ?? 'UTC', now);
    if (!window.open) {
      const heldUntil = await this.repo.holdForWindow(delivery, window.opensAt.getTime() - now.getTime());
      if (heldUntil) log.info({ windowOpensAt: window.opensAt.toISOString(), heldUntil: heldUntil.toISOString() }, 'outside the upload window; the delivery waits for it');
      return;
    }

    const attempt = await this.repo.startAttempt(delivery.id);
    // Final meanwhile (another copy of this message finished it), or waiting and not yet due
    // (an early copy: the scheduled message comes at next_attempt_at).
    if (attempt === null) return;
    // Throttled (500 ms and 1 % of the file): the api's live run view shows it.
    const progress = new ProgressThrottle((bytes) => this.repo.saveProgress(delivery.id, bytes), size);
    // A cancel aborts the upload at its next chunk; the adapter removes its temp file.
    const cancel = this.repo.watchForCancel(run.id);
    try {
      // fs: the staged file itself; s3: fetched by ranged GETs into this host's ARTIFACT_DIR
      // for the attempt (the adapters need a path: smbclient, sftp fastPut) and deleted after.
      const result = await this.artifacts.withLocalFile(artifact, join(this.env.ARTIFACT_DIR, 'deliveries'), (filePath) =>
        this.destinations.deliver(config, {
          filePath,
          // Names the attempt's temp file, so the next attempt removes what this one may leave.
          deliveryId: delivery.id,
          fileName: artifactFileName,
          configurationName: run.snapshot.name,
          size,
          sha256: artifactSha256,
          onProgress: (bytes) => progress.report(bytes),
          signal: cancel.signal,
        }),
      );
      await this.repo.succeed(delivery, result.location, result.target, size, run.snapshot.verify?.afterUpload === 'sha256');
      log.info({ location: result.location, target: result.target, verified: result.verified, attempt }, 'delivered');
      await this.retention.apply(run.snapshot, run.configurationId, delivery.destinationId, config).catch((err) => log.warn({ err }, 'retention failed; files are kept'));
    } catch (err) {
      if (cancel.cancelled || (await this.repo.findRun(run.id).catch(() => null))?.status === 'cancelled') {
        await this.repo.cancel(delivery.id);
        log.info({ attempt }, 'upload aborted: the run was cancelled');
        return;
      }
      const e = toDeliveryError(err);
      // The recorded message may be deliberately uniform (CONNECT_FAILED): the operator gets the real reason here.
      const cause = causeMessage(e);
      const retryAfterMs = 'retryAfterMs' in e && typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined;
      const next = nextAttempt({ attempts: attempt, failingSince: delivery.failingSince }, { permanent: e.permanent, retryAfterMs }, new Date(), this.retryPolicy);
      if ('giveUp' in next) {
        log.error({ code: e.code, err: e.message, cause, attempt, gaveUp: next.giveUp }, 'delivery failed');
        return this.finish(run, () => this.repo.fail(delivery, e.code, e.message));
      }
      log.warn({ code: e.code, err: e.message, cause, attempt, retryAt: next.retryAt.toISOString() }, 'delivery failed; will retry');
      await this.repo.scheduleRetry(delivery, { code: e.code, error: e.message, ...next });
      return;
    } finally {
      cancel.stop();
    }
    // Outside the try: a failed close is no delivery failure. It throws, the message comes
    // back, finds the delivery final and closes the run (the sweeper is the safety net).
    await this.finalizer.finalizeIfDone(run.id);
  }

  private async finish(run: RunEntity, write: () => Promise<void>): Promise<void> {
    await write();
    await this.finalizer.finalizeIfDone(run.id);
  }

  private configOf(type: DestinationConfig['type'], settings: Record<string, unknown>, secrets: Record<string, string>): DestinationConfig {
    return destinationConfigFromStored(type, settings, secrets, (sealed) => this.secrets.open(sealed));
  }
}

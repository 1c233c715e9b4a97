import { Inject, Injectable } from '@nestjs/common';
import type { VerificationResult } from '@pbx/contracts';
import { causeMessage, destinationConfigFromStored, toDeliveryError, type DestinationConfig, type DestinationRegistry, type StoredHash } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { ROOT_LOGGER } from '@pbx/runtime';
import type { SecretBox } from '@pbx/secrets';
import { DESTINATION_REGISTRY, SECRET_BOX } from './dispatcher.tokens';
import { VerificationsRepository, type VerificationRecord, type VerifyReason } from './verifications.repository';

/** What a read-back says against the run's sha256. */
export function verdictOf(stored: StoredHash, expectedSha256: string): VerificationResult {
  if (stored.state !== 'stored') return stored.state;
  return stored.sha256 === expectedSha256 ? 'verified' : 'mismatch';
}

/**
 * Reads a run's stored copies back from their destinations and compares each sha256 with the
 * run's. Read-only at the destinations, so a redelivered request simply checks again (the
 * newer result replaces the older one).
 */
@Injectable()
export class VerificationService {
  constructor(
    private readonly repo: VerificationsRepository,
    @Inject(DESTINATION_REGISTRY) private readonly destinations: DestinationRegistry,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async verify(runId: string, reason: VerifyReason, deliveryIds?: readonly string[]): Promise<void> {
    const run = await this.repo.findRun(runId);
    if (!run?.artifactFileName || !run.artifactSha256) return;
    const results: VerificationRecord[] = [];
    for (const delivery of await this.repo.storedCopies(runId, deliveryIds)) {
      const log = this.logger.child({ runId, deliveryId: delivery.id, destinationType: delivery.type });
      let result: VerificationResult;
      const dest = await this.repo.findDestination(delivery.destinationId);
      if (!dest) {
        result = 'notFound';
      } else {
        try {
          const config: DestinationConfig = destinationConfigFromStored(dest.type, dest.settings, dest.secrets, (sealed) => this.secrets.open(sealed));
          result = verdictOf(await this.destinations.hash(config, run.snapshot.name, run.artifactFileName), run.artifactSha256);
        } catch (err) {
          const e = toDeliveryError(err);
          log.warn({ code: e.code, err: e.message, cause: causeMessage(e) }, 'stored copy could not be read back');
          result = e.code;
        }
      }
      (result === 'verified' || result === 'notVerifiable' ? log.info.bind(log) : log.error.bind(log))({ result, reason }, 'stored copy checked');
      results.push({ deliveryId: delivery.id, destinationType: delivery.type, result });
    }
    await this.repo.record(runId, reason, results);
  }
}

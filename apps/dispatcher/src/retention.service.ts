import { Inject, Injectable } from '@nestjs/common';
import { isObjectLocked, type DestinationConfig, type DestinationRegistry } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import type { RunSnapshot } from '@pbx/persistence';
import { ROOT_LOGGER } from '@pbx/runtime';
import { DeliveriesRepository } from './deliveries.repository';
import { DESTINATION_REGISTRY } from './dispatcher.tokens';
import { hasRules, retentionPlan, type KeptFile, type RetentionPolicy } from './retention';

/** What retention needs of the deliveries table. */
export type RetentionStore = Pick<DeliveriesRepository, 'keptFiles' | 'markPruned'>;

/** The rules a run carries (runs made before keepDaily & co. have only keepLast; their zone is UTC). */
export function policyOf(s: RunSnapshot): RetentionPolicy {
  return {
    keepLast: s.keepLast ?? null,
    keepDaily: s.keepDaily ?? null,
    keepWeekly: s.keepWeekly ?? null,
    keepMonthly: s.keepMonthly ?? null,
    maxAgeDays: s.maxAgeDays ?? null,
    timezone: s.timezone ?? 'UTC',
  };
}

/**
 * Applies the newest run's retention rules to the copies this service recorded at one
 * destination for the configuration, whatever the name they were written under: a renamed
 * configuration's old copies stay in their folder (nothing is moved) and are judged and
 * removed there. A file nobody recorded as delivered is never looked at.
 */
@Injectable()
export class RetentionService {
  constructor(
    @Inject(DeliveriesRepository) private readonly store: RetentionStore,
    @Inject(DESTINATION_REGISTRY) private readonly destinations: Pick<DestinationRegistry, 'remove'>,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * The files it pruned (removed, or left because a kept delivery shares the file). A run of no
   * configuration (`safety`, never delivered) has no rules: nothing.
   */
  async apply(snapshot: RunSnapshot, configurationId: string | null, destinationId: string, config: DestinationConfig, now = new Date()): Promise<KeptFile[]> {
    const policy = policyOf(snapshot);
    if (!hasRules(policy) || configurationId === null) return [];
    const files = await this.store.keptFiles(destinationId, configurationId);
    const pruned: KeptFile[] = [];
    for (const { file, deleteFile } of retentionPlan(files, policy, now)) {
      if (deleteFile) {
        try {
          await this.destinations.remove(config, file.folder, file.fileName);
        } catch (err) {
          if (!isObjectLocked(err)) throw err;
          // Under Object Lock (s3 objectLockDays): never deleted, not counted pruned, so the next
          // pass after an upload judges it again; reported, the others still go.
          this.logger.warn({ folder: file.folder, fileName: file.fileName, retainUntil: err.retainUntil.toISOString() }, 'retention kept an old backup: it is under Object Lock');
          continue;
        }
        this.logger.info({ folder: file.folder, fileName: file.fileName }, 'retention removed an old backup');
      }
      await this.store.markPruned(file.id);
      pruned.push(file);
    }
    return pruned;
  }
}

import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Envelope } from '@pbx/contracts';
import { RestoreFetchService } from './restore-fetch.service';
import { VerificationService } from './verification.service';

@Controller()
export class VerificationHandler {
  constructor(
    private readonly verification: VerificationService,
    private readonly restoreFetch: RestoreFetchService,
  ) {}

  /** dispatcher.deliver.v1: read a run's stored copies back (replicas compete, as for uploads). */
  @EventPattern('backup.verify-requested')
  async verifyRequested(@Payload() env: Envelope<'backup.verify-requested'>): Promise<void> {
    await this.verification.verify(env.payload.runId, env.payload.reason, env.payload.deliveryIds);
  }

  /** dispatcher.deliver.v1: read a destination's stored copy back for a restore (reading back is this handler's trade). */
  @EventPattern('restore.fetch-requested')
  async restoreFetchRequested(@Payload() env: Envelope<'restore.fetch-requested'>): Promise<void> {
    await this.restoreFetch.fetch(env.payload.restoreId);
  }
}

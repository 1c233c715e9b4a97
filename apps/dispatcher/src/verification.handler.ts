import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Envelope } from '@pbx/contracts';
import { VerificationService } from './verification.service';

@Controller()
export class VerificationHandler {
  constructor(private readonly verification: VerificationService) {}

  /** dispatcher.deliver.v1: read a run's stored copies back (replicas compete, as for uploads). */
  @EventPattern('backup.verify-requested')
  async verifyRequested(@Payload() env: Envelope<'backup.verify-requested'>): Promise<void> {
    await this.verification.verify(env.payload.runId, env.payload.reason, env.payload.deliveryIds);
  }
}

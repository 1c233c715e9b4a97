import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Envelope } from '@pbx/contracts';
import { RestoreRunner } from './restore-runner.service';

/** packer.jobs.v1: restores, run here because the packer reaches the PBX and holds its lock. */
@Controller()
export class RestoreJobsHandler {
  constructor(private readonly runner: RestoreRunner) {}

  @EventPattern('restore.requested')
  async restoreRequested(@Payload() env: Envelope<'restore.requested'>): Promise<void> {
    await this.runner.run(env.payload.restoreId);
  }
}

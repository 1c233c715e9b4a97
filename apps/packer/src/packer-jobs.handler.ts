import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { Envelope } from '@pbx/contracts';
import { ArchiverService } from './archiver.service';
import { PackerService } from './packer.service';

/** packer.jobs.v1: backup and archive runs that are due. */
@Controller()
export class PackerJobsHandler {
  constructor(
    private readonly packer: PackerService,
    private readonly archiver: ArchiverService,
  ) {}

  @EventPattern('backup.due')
  async backupDue(@Payload() env: Envelope<'backup.due'>): Promise<void> {
    await this.packer.packBackup(env.payload.runId);
  }

  @EventPattern('archive.due')
  async archiveDue(@Payload() env: Envelope<'archive.due'>): Promise<void> {
    await this.archiver.packArchive(env.payload.runId);
  }
}

/** archiver.finalize.v1: every destination has answered for an archive run. */
@Controller()
export class ArchiverFinalizeHandler {
  constructor(private readonly archiver: ArchiverService) {}

  @EventPattern('archive.delivered')
  async delivered(@Payload() env: Envelope<'archive.delivered'>): Promise<void> {
    await this.archiver.finalize(env.payload.runId, env.payload.allSucceeded);
  }
}

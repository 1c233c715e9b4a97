import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from '../auth/access.decorators';
import { Audited } from '../audit/audited.decorator';
import { existingId } from '../common/ids';
import { ApiId, ApiJson, ApiProblems } from '../openapi/decorators';
import type { RunResponse } from './run.mapper';
import { RunsService } from './runs.service';

@ApiTags('Runs')
@Controller('api/v1/runs')
export class RunVerificationController {
  constructor(private readonly runs: RunsService) {}

  @Post(':id/verify')
  @HttpCode(202)
  @RequirePermission('runs.verify')
  @Audited('run.verify', 'run')
  @ApiOperation({ summary: "Read every stored copy of the run back and compare its sha256 with the run's (results in deliveries[].verification)" })
  @ApiId()
  @ApiJson(202, 'RunEnvelope', 'The run; its deliveries show the results once the copies were read back')
  @ApiProblems(404, 409)
  async verify(@Param('id') id: string): Promise<{ run: RunResponse }> {
    return { run: await this.runs.verify(existingId(id, 'run')) };
  }
}

import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RequirePermission } from '../auth/access.decorators';
import { Audited } from '../audit/audited.decorator';
import { existingId } from '../common/ids';
import { JsonBody } from '../common/json-body.decorator';
import type { Page } from '../common/pagination';
import { paginationQuerySchema, validate } from '../common/validation';
import { ApiEventStream, ApiId, ApiJson, ApiJsonBody, ApiPaging, ApiProblems } from '../openapi/decorators';
import { REQUEST_SCHEMA } from '../openapi/request-schemas';
import { eventStreamSink } from '../live/event-stream-sink';
import type { RestoreResponse } from './restore.mapper';
import { restoreRequestSchema } from './restore.schema';
import { RestoreEventsService } from './restore-events.service';
import { RestoresService } from './restores.service';

@ApiTags('Restores')
@Controller('api/v1/restores')
export class RestoresController {
  constructor(
    private readonly restores: RestoresService,
    private readonly restoreEvents: RestoreEventsService,
  ) {}

  @Post()
  @HttpCode(202)
  @RequirePermission('restores.start')
  @Audited('restore.start', 'restore', { param: null, targetFromResult: (r) => (r as { restore: RestoreResponse }).restore.id })
  @ApiOperation({ summary: 'Restore (or preview) sections of an archive into the PBX: from a run\'s archive or an upload' })
  @ApiJsonBody(REQUEST_SCHEMA.restore)
  @ApiJson(202, 'RestoreEnvelope', 'The queued restore')
  @ApiProblems(400, 404, 409, 410, 422)
  async start(@JsonBody() body: unknown): Promise<{ restore: RestoreResponse }> {
    return { restore: await this.restores.start(validate(restoreRequestSchema, body)) };
  }

  @Get()
  @RequirePermission('restores.read')
  @ApiOperation({ summary: 'List restores (newest first)' })
  @ApiPaging()
  @ApiJson(200, 'RestorePage', 'One page')
  @ApiProblems(400)
  list(@Query() query: unknown): Promise<Page<RestoreResponse>> {
    return this.restores.list(validate(paginationQuerySchema, query));
  }

  @Get(':id')
  @RequirePermission('restores.read')
  @ApiOperation({ summary: 'Read a restore: status, phase, bytes, sections, safety backup, error' })
  @ApiId()
  @ApiJson(200, 'Restore', 'The restore')
  @ApiProblems(404)
  get(@Param('id') id: string): Promise<RestoreResponse> {
    return this.restores.get(existingId(id, 'restore'));
  }

  @Get(':id/events')
  @RequirePermission('restores.read')
  @ApiEventStream('a restore', [
    { event: 'status', schema: 'RestoreStatusEvent' },
    { event: 'progress', schema: 'RestoreProgressEvent', note: ': phase, bytes, percent' },
    { event: 'section', schema: 'RestoreSectionState', note: ', one per section' },
  ])
  async events(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.restoreEvents.stream(existingId(id, 'restore'), eventStreamSink(req, res));
  }
}

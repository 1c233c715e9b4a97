import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RequirePermission } from '../auth/access.decorators';
import { Audited } from '../audit/audited.decorator';
import { existingId } from '../common/ids';
import { JsonBody } from '../common/json-body.decorator';
import type { Page } from '../common/pagination';
import { paginationQuerySchema, validate } from '../common/validation';
import { ApiId, ApiJson, ApiJsonBody, ApiPaging, ApiProblems } from '../openapi/decorators';
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
  @ApiOperation({
    summary: 'Follow a restore live (server-sent events)',
    description:
      'text/event-stream. First the current state (also after a reconnect: Last-Event-ID needs no replay), then each change: ' +
      '`status` (RestoreStatusEvent), `progress` (RestoreProgressEvent: phase, bytes, percent), `section` (RestoreSectionState, one per section). ' +
      'The stream ends after the status event with `final: true`; a comment line every 15 s keeps it open. ' +
      'Send the bearer token as a header (fetch streaming), as for every route.',
  })
  @ApiId()
  @ApiResponse({
    status: 200,
    description: 'The event stream (event: status | progress | section; data: the JSON of RestoreStatusEvent, RestoreProgressEvent, RestoreSectionState)',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiProblems(404)
  async events(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.restoreEvents.stream(existingId(id, 'restore'), eventStreamSink(req, res));
  }
}

import { Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { RequirePermission } from '../auth/access.decorators';
import { Audited } from '../audit/audited.decorator';
import { existingId } from '../common/ids';
import type { Page } from '../common/pagination';
import { problem, writeProblem } from '../common/problem-details';
import { RUN_KINDS, RUN_STATUSES } from '@pbx/contracts';
import { runsQuerySchema, validate } from '../common/validation';
import { ApiEventStream, ApiId, ApiJson, ApiPaging, ApiProblems } from '../openapi/decorators';
import { eventStreamSink } from '../live/event-stream-sink';
import type { RunResponse } from './run.mapper';
import { RunEventsService } from './run-events.service';
import { RunsService } from './runs.service';

@ApiTags('Runs')
@Controller('api/v1/runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly runEvents: RunEventsService,
  ) {}

  @Get()
  @RequirePermission('runs.read')
  @ApiOperation({ summary: 'List runs (backup, archive and safety, newest first; runs of deleted configurations included)' })
  @ApiPaging()
  @ApiQuery({ name: 'configurationId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'status', required: false, schema: { type: 'string', enum: [...RUN_STATUSES] } })
  @ApiQuery({ name: 'kind', required: false, schema: { type: 'string', enum: [...RUN_KINDS] } })
  @ApiJson(200, 'RunPage', 'One page')
  @ApiProblems(400)
  list(@Query() query: unknown): Promise<Page<RunResponse>> {
    return this.runs.list(validate(runsQuerySchema, query));
  }

  @Get(':id')
  @RequirePermission('runs.read')
  @ApiOperation({ summary: 'Read a run with its deliveries' })
  @ApiId()
  @ApiJson(200, 'Run', 'The run')
  @ApiProblems(404)
  get(@Param('id') id: string): Promise<RunResponse> {
    return this.runs.get(existingId(id, 'run'));
  }

  @Get(':id/events')
  @RequirePermission('runs.read')
  @ApiEventStream('a run', [
    { event: 'status', schema: 'RunStatusEvent' },
    { event: 'progress', schema: 'RunProgressEvent' },
    { event: 'delivery', schema: 'RunDeliveryEvent', note: ', one per destination' },
  ])
  async events(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.runEvents.stream(existingId(id, 'run'), eventStreamSink(req, res));
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @RequirePermission('runs.cancel')
  @Audited('run.cancel', 'run')
  @ApiOperation({
    summary: 'Cancel a run that is not final',
    description:
      'Queued or deferred: it never starts (its deferral ends, no lock is taken). Packing or dispatching: the worker stops at its next safe point ' +
      '(within about a second) and cleans up — the partial archive is deleted, deliveries not started are `cancelled`, an upload in flight is aborted ' +
      'and its temporary file removed; copies delivered before stay and are listed in `deliveries`. Answers 202 with the run (status `cancelled`); ' +
      'again for a cancelled run. 409 `run_finished` for a run that ended otherwise (or an archive run whose items are being deleted). No report is mailed.',
  })
  @ApiId()
  @ApiJson(202, 'RunEnvelope', 'The cancelled run')
  @ApiProblems(404, 409)
  async cancel(@Param('id') id: string): Promise<{ run: RunResponse }> {
    return { run: await this.runs.cancel(existingId(id, 'run')) };
  }

  @Get(':id/download')
  @RequirePermission('runs.download')
  @Audited('run.download', 'run')
  @ApiOperation({ summary: 'Download the .sar archive of a packed run (single byte ranges supported)' })
  @ApiId()
  @ApiResponse({ status: 200, description: 'The archive', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } })
  @ApiResponse({ status: 206, description: 'A byte range of the archive' })
  @ApiProblems(404, 409, 410, 416)
  async download(@Param('id') id: string, @Headers('range') range: string | undefined, @Res() res: Response): Promise<void> {
    const download = await this.runs.download(existingId(id, 'run'), range);
    if (download.status === 416) {
      return writeProblem(res, problem(416, 'range_not_satisfiable', `the requested range is not within the ${download.size} bytes of the archive`), {
        'Content-Range': `bytes */${download.size}`,
      });
    }
    res.status(download.status);
    for (const [k, v] of Object.entries(download.headers)) res.setHeader(k, v);
    // A client that goes away mid-download just ends the stream; nothing to report.
    await pipeline(download.open(), res).catch(() => undefined);
  }
}

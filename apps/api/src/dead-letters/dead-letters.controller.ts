import { Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RequirePermission } from '../auth/access.decorators';
import { Audited } from '../audit/audited.decorator';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@pbx/ops';
import { existingId } from '../common/ids';
import type { Page } from '../common/pagination';
import { JsonBody } from '../common/json-body.decorator';
import { deadLettersBulkBodySchema, deadLettersQuerySchema, validate } from '../common/validation';
import { ApiId, ApiJson, ApiJsonBody, ApiPaging, ApiProblems } from '../openapi/decorators';
import { REQUEST_SCHEMA } from '../openapi/request-schemas';
import { DeadLettersService, type DeadLetterResponse } from '@pbx/ops';

@ApiTags('Dead letters')
@Controller('api/v1/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @RequirePermission('dead-letters.read')
  @ApiOperation({ summary: 'List dead letters (discarded ones only with includeDiscarded=true)' })
  @ApiPaging()
  @ApiQuery({ name: 'queue', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'type', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'runId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'includeDiscarded', required: false, schema: { type: 'boolean' } })
  @ApiJson(200, 'DeadLetterPage', 'One page')
  @ApiProblems(400)
  list(@Query() query: unknown): Promise<Page<DeadLetterResponse>> {
    const { page, limit, ...filter } = validate(deadLettersQuerySchema, query);
    return this.deadLetters.list(filter, { page, limit });
  }

  // Declared before ':id' routes so "replay" is never taken for an id.
  @Post('replay')
  @HttpCode(200)
  @RequirePermission('dead-letters.manage')
  @Audited('dead-letter.replay', 'dead-letter', { param: null, detailFromResult: (r) => ({ count: (r as { replayed: number }).replayed }) })
  @ApiOperation({ summary: 'Replay every open dead letter matching a filter', description: 'An empty filter needs "all": true.' })
  @ApiJsonBody(REQUEST_SCHEMA.deadLettersBulk)
  @ApiJson(200, 'ReplayCount', 'How many were republished')
  @ApiProblems(400, 415)
  async replayMatching(@JsonBody() body: unknown, @CurrentPrincipal() who: Principal): Promise<{ replayed: number }> {
    return { replayed: await this.deadLetters.replayMatching(validate(deadLettersBulkBodySchema, body), who.name) };
  }

  @Post('discard')
  @HttpCode(200)
  @RequirePermission('dead-letters.manage')
  @Audited('dead-letter.discard', 'dead-letter', { param: null, detailFromResult: (r) => ({ count: (r as { discarded: number }).discarded }) })
  @ApiOperation({ summary: 'Discard every open dead letter matching a filter', description: 'An empty filter needs "all": true.' })
  @ApiJsonBody(REQUEST_SCHEMA.deadLettersBulk)
  @ApiJson(200, 'DiscardCount', 'How many were discarded')
  @ApiProblems(400, 415)
  async discardMatching(@JsonBody() body: unknown, @CurrentPrincipal() who: Principal): Promise<{ discarded: number }> {
    return { discarded: await this.deadLetters.discardMatching(validate(deadLettersBulkBodySchema, body), who.name) };
  }

  @Get(':id')
  @RequirePermission('dead-letters.read')
  @ApiOperation({ summary: 'Read a dead letter with headers and body' })
  @ApiId()
  @ApiJson(200, 'DeadLetter', 'The dead letter')
  @ApiProblems(404)
  get(@Param('id') id: string): Promise<DeadLetterResponse> {
    return this.deadLetters.get(existingId(id, 'dead letter'));
  }

  @Post(':id/replay')
  @HttpCode(200)
  @RequirePermission('dead-letters.manage')
  @Audited('dead-letter.replay', 'dead-letter')
  @ApiOperation({ summary: 'Republish a dead letter to its queue (once)' })
  @ApiId()
  @ApiJson(200, 'DeadLetter', 'The replayed dead letter')
  @ApiProblems(404, 409)
  replay(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<DeadLetterResponse> {
    return this.deadLetters.replay(existingId(id, 'dead letter'), who.name);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('dead-letters.manage')
  @Audited('dead-letter.discard', 'dead-letter')
  @ApiOperation({ summary: 'Discard a dead letter (recorded, hidden from the list)' })
  @ApiId()
  @ApiProblems(404)
  async discard(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.deadLetters.discard(existingId(id, 'dead letter'), who.name);
  }
}

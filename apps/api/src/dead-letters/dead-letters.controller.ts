import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '../auth/api-tokens.service';
import { existingId } from '../common/ids';
import type { Page } from '../common/pagination';
import { deadLettersQuerySchema, deadLettersReplayBodySchema, validate } from '../common/validation';
import { ApiId, ApiJson, ApiJsonBody, ApiPaging, ApiProblems } from '../openapi/decorators';
import { REQUEST_SCHEMA } from '../openapi/request-schemas';
import { DeadLettersService, type DeadLetterResponse } from './dead-letters.service';

@ApiTags('Dead letters')
@ApiBearerAuth('bearer')
@Controller('api/v1/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
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
  @ApiOperation({ summary: 'Replay every open dead letter matching a filter' })
  @ApiJsonBody(REQUEST_SCHEMA.deadLettersReplay)
  @ApiJson(200, 'ReplayCount', 'How many were republished')
  @ApiProblems(400)
  async replayMatching(@Body() body: unknown, @CurrentPrincipal() who: Principal): Promise<{ replayed: number }> {
    const filter = validate(deadLettersReplayBodySchema, body ?? {});
    return { replayed: await this.deadLetters.replayMatching(filter, who.name) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a dead letter with headers and body' })
  @ApiId()
  @ApiJson(200, 'DeadLetter', 'The dead letter')
  @ApiProblems(404)
  get(@Param('id') id: string): Promise<DeadLetterResponse> {
    return this.deadLetters.get(existingId(id, 'dead letter'));
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Republish a dead letter to its queue (once)' })
  @ApiId()
  @ApiJson(200, 'DeadLetter', 'The replayed dead letter')
  @ApiProblems(404, 409)
  replay(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<DeadLetterResponse> {
    return this.deadLetters.replay(existingId(id, 'dead letter'), who.name);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Discard a dead letter (recorded, hidden from the list)' })
  @ApiId()
  @ApiProblems(404)
  async discard(@Param('id') id: string, @CurrentPrincipal() who: Principal): Promise<void> {
    await this.deadLetters.discard(existingId(id, 'dead letter'), who.name);
  }
}

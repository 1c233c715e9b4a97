import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res, type Type } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { ConfigurationKind } from '@pbx/contracts';
import { RequirePermission } from '../auth/access.decorators';
import { Audited, type ImpliedAuditEvent } from '../audit/audited.decorator';
import { existingId } from '../common/ids';
import type { Page } from '../common/pagination';
import { paginationQuerySchema, validate } from '../common/validation';
import { ApiId, ApiJson, ApiJsonBody, ApiPaging, ApiProblems } from '../openapi/decorators';
import { REQUEST_SCHEMA } from '../openapi/request-schemas';
import { toRunResponse, type RunResponse } from '../runs/run.mapper';
import type { ConfigurationResponse, DestinationResponse } from './configuration.mapper';
import { destinationSchema } from '@pbx/contracts';
import type { ConfigurationAction } from './configuration-fields';
import { ConfigurationSchemas } from './configuration-schemas';
import type { ConfigurationDraft, ConfigurationPatch } from './configuration-draft';
import { ConfigurationsService } from './configurations.service';
import { dropSecretMarkers, type DestinationRecord } from './destination-secrets';

type CreateResult = { configuration?: ConfigurationResponse; run?: RunResponse };

/** The configuration a create made (a runOnly one is dropped after its run, but was made). */
const createdConfigurationId = (r: unknown): string | null => (r as CreateResult).configuration?.id ?? (r as CreateResult).run?.configurationId ?? null;

/** "save and run" and "run only" also start a run. */
const runStartedBy = (r: unknown): ImpliedAuditEvent[] => {
  const { run } = r as CreateResult;
  return run ? [{ action: 'run.start', targetType: 'configuration', targetId: run.configurationId, detail: { runId: run.id } }] : [];
};

interface ControllerSpec {
  kind: ConfigurationKind;
  path: string;
  tag: string;
  label: string;
  createSchemaName: string;
  patchSchemaName: string;
  /** Validates a create body and turns it into the kind-neutral draft. */
  parseCreate(schemas: ConfigurationSchemas, body: unknown): { draft: ConfigurationDraft; action: ConfigurationAction };
  parsePatch(schemas: ConfigurationSchemas, body: unknown): ConfigurationPatch;
}

/**
 * Backup and archive configurations share every route and rule; only the body schemas and
 * the `kind` differ. Thin: validate, call one service method, shape the answer.
 */
export function configurationsController(spec: ControllerSpec): Type<unknown> {
  const { kind, label } = spec;

  @ApiTags(spec.tag)
  @Controller(spec.path)
  class ConfigurationsController {
    constructor(
      readonly service: ConfigurationsService,
      readonly schemas: ConfigurationSchemas,
    ) {}

    @Post()
    @RequirePermission('configurations.write')
    @Audited('configuration.create', 'configuration', { param: null, targetFromResult: createdConfigurationId, implied: runStartedBy })
    @ApiOperation({ summary: `Create a ${label}`, description: 'action: save (201 { configuration }), saveAndRun (201 { configuration, run }), runOnly (202 { run }; the configuration is not kept).' })
    @ApiJsonBody(spec.createSchemaName)
    @ApiJson(201, 'ConfigurationEnvelope', 'Created')
    @ApiJson(202, 'RunEnvelope', 'runOnly: the run was queued')
    @ApiProblems(400, 409, 422)
    async create(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<{ configuration?: ConfigurationResponse; run?: RunResponse }> {
      const { draft, action } = spec.parseCreate(this.schemas, body);
      const result = await this.service.create(kind, draft, action);
      const run = result.run ? toRunResponse(result.run, []) : undefined;
      if (action === 'runOnly') {
        res.status(202);
        return { run };
      }
      res.status(201);
      return action === 'saveAndRun' ? { configuration: result.configuration, run } : { configuration: result.configuration };
    }

    @Get()
    @RequirePermission('configurations.read')
    @ApiOperation({ summary: `List ${label}s` })
    @ApiPaging()
    @ApiJson(200, 'ConfigurationPage', 'One page')
    @ApiProblems(400)
    list(@Query() query: unknown): Promise<Page<ConfigurationResponse>> {
      return this.service.list(kind, validate(paginationQuerySchema, query));
    }

    @Get(':id')
    @RequirePermission('configurations.read')
    @ApiOperation({ summary: `Read a ${label} (with nextRunAt)` })
    @ApiId()
    @ApiJson(200, 'Configuration', 'The configuration')
    @ApiProblems(404)
    get(@Param('id') id: string): Promise<ConfigurationResponse> {
      return this.service.get(kind, existingId(id, label));
    }

    @Patch(':id')
    @RequirePermission('configurations.write')
    @Audited('configuration.update', 'configuration')
    @ApiOperation({ summary: `Change a ${label}`, description: 'Absent fields are unchanged; destinations replaces the list (entries with id keep omitted secrets).' })
    @ApiId()
    @ApiJsonBody(spec.patchSchemaName)
    @ApiJson(200, 'Configuration', 'The changed configuration')
    @ApiProblems(400, 404, 409, 422)
    async patch(@Param('id') id: string, @Body() body: unknown): Promise<ConfigurationResponse> {
      const checkedId = existingId(id, label);
      return this.service.patch(kind, checkedId, spec.parsePatch(this.schemas, dropSecretMarkers(body)));
    }

    @Delete(':id')
    @HttpCode(204)
    @RequirePermission('configurations.write')
    @Audited('configuration.delete', 'configuration')
    @ApiOperation({ summary: `Delete a ${label} (its runs stay in the history)` })
    @ApiId()
    @ApiProblems(404)
    async remove(@Param('id') id: string): Promise<void> {
      await this.service.remove(kind, existingId(id, label));
    }

    @Post(':id/destinations')
    @RequirePermission('configurations.write')
    @Audited('destination.add', 'destination', { param: null, targetFromResult: (r) => (r as DestinationResponse).id })
    @ApiOperation({ summary: 'Add a destination' })
    @ApiId()
    @ApiJsonBody(REQUEST_SCHEMA.destination)
    @ApiJson(201, 'Destination', 'The new destination')
    @ApiProblems(400, 404, 409, 422)
    async addDestination(@Param('id') id: string, @Body() body: unknown): Promise<DestinationResponse> {
      const checkedId = existingId(id, label);
      const destination = validate(destinationSchema, body) as DestinationRecord;
      return this.service.addDestination(kind, checkedId, destination);
    }

    @Delete(':id/destinations/:destinationId')
    @HttpCode(204)
    @RequirePermission('configurations.write')
    @Audited('destination.remove', 'destination', { param: 'destinationId' })
    @ApiOperation({ summary: 'Remove a destination (not the last one)' })
    @ApiId()
    @ApiId('destinationId', 'UUID of the destination')
    @ApiProblems(404, 409)
    async removeDestination(@Param('id') id: string, @Param('destinationId') destinationId: string): Promise<void> {
      await this.service.removeDestination(kind, existingId(id, label), existingId(destinationId, 'destination'));
    }

    @Post(':id/runs')
    @HttpCode(202)
    @RequirePermission('runs.start')
    @Audited('run.start', 'configuration', { detailFromResult: (r) => ({ runId: (r as { run: RunResponse }).run.id }) })
    @ApiOperation({ summary: 'Run now' })
    @ApiId()
    @ApiJson(202, 'RunEnvelope', 'The queued run')
    @ApiProblems(404)
    async run(@Param('id') id: string): Promise<{ run: RunResponse }> {
      const run = await this.service.runNow(kind, existingId(id, label));
      return { run: toRunResponse(run, []) };
    }
  }
  Object.defineProperty(ConfigurationsController, 'name', { value: `${spec.tag.replace(/\W/g, '')}Controller` });
  return ConfigurationsController;
}

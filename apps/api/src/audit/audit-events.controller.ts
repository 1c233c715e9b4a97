import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AUDIT_ACTIONS } from '@pbx/contracts';
import { RequirePermission } from '../auth/access.decorators';
import type { Page } from '../common/pagination';
import { validate } from '../common/validation';
import { ApiJson, ApiPaging, ApiProblems } from '../openapi/decorators';
import { auditEventsQuerySchema } from './audit-events.schema';
import { AuditService, type AuditEventResponse } from '@pbx/ops';

@ApiTags('Audit')
@Controller('api/v1/audit-events')
export class AuditEventsController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequirePermission('audit.read')
  @ApiOperation({ summary: 'List audit events (newest first)' })
  @ApiPaging()
  @ApiQuery({ name: 'action', required: false, schema: { type: 'string', enum: [...AUDIT_ACTIONS] } })
  @ApiQuery({ name: 'targetId', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'from', required: false, schema: { type: 'string', format: 'date-time' }, description: 'inclusive' })
  @ApiQuery({ name: 'to', required: false, schema: { type: 'string', format: 'date-time' }, description: 'exclusive' })
  @ApiJson(200, 'AuditEventPage', 'One page')
  @ApiProblems(400, 403)
  list(@Query() query: unknown): Promise<Page<AuditEventResponse>> {
    const { page, limit, ...filter } = validate(auditEventsQuerySchema, query);
    return this.audit.list(filter, { page, limit });
  }
}

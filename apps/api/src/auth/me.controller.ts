import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ROLE_PERMISSIONS, type Permission, type Role } from '@pbx/contracts';
import type { Principal } from '@pbx/ops';
import { DEFAULT_TIMEZONE } from '../api.tokens';
import { ApiJson, ApiProblems } from '../openapi/decorators';
import { RequirePermission } from './access.decorators';
import { CurrentPrincipal } from './principal.decorator';

/** Who am I: lets a client (the admin UI) offer only what the token's role may do. */
@ApiTags('Session')
@Controller('api/v1/me')
export class MeController {
  constructor(@Inject(DEFAULT_TIMEZONE) private readonly timezone: string) {}

  @Get()
  // Every role holds session.read: any valid token may ask who it is.
  @RequirePermission('session.read')
  @ApiOperation({ summary: "The calling token's name, role and permissions" })
  @ApiJson(200, 'Me', 'The calling token')
  @ApiProblems()
  me(@CurrentPrincipal() principal: Principal): { name: string; role: Role; permissions: Permission[]; timezone: string } {
    return { name: principal.name, role: principal.role, permissions: [...ROLE_PERMISSIONS[principal.role]], timezone: this.timezone };
  }
}

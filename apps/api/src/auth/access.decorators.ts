import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension } from '@nestjs/swagger';
import type { Permission } from '@pbx/contracts';

/** Route metadata key: the permission a route needs (libs/contracts ROLE_PERMISSIONS). */
export const REQUIRED_PERMISSION = 'pbx:required-permission';

/**
 * The permission a route needs. Every route carries this or `@Public()`; the access guard
 * denies anything else and the api refuses to boot with such a route (RouteAccessCheck).
 * The OpenAPI document shows it as `x-permission`.
 */
export const RequirePermission = (permission: Permission): MethodDecorator =>
  applyDecorators(SetMetadata(REQUIRED_PERMISSION, permission), ApiBearerAuth('bearer'), ApiExtension('x-permission', permission));

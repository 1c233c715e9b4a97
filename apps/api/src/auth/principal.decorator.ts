import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest } from './bearer.guard';
import type { Principal } from './api-tokens.service';

/** The authenticated caller (set by the BearerGuard). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal ?? { kind: 'admin', name: 'admin' };
});

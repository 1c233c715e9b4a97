import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainError, ERROR_CODES, roleAllows, type Permission } from '@pbx/contracts';
import { PUBLIC_ROUTE } from '@pbx/runtime';
import { ApiTokensService, AuditService, type Principal } from '@pbx/ops';
import { AUDITED, type AuditedSpec } from '../audit/audited.decorator';
import { recordRequest } from '../audit/request-audit';
import { AuthFailuresService } from './auth-failures.service';
import { REQUIRED_PERMISSION } from './access.decorators';

export type AuthenticatedRequest = Request & { principal?: Principal };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The one global guard, deny by default. The route's metadata decides: `@Public()` is open,
 * `@RequirePermission(p)` needs a token whose role allows p, anything else is refused. The
 * request path is never looked at, so no spelling of a path can slip past it.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokensService,
    private readonly failures: AuthFailuresService,
    private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = await this.authenticate(req);
    req.principal = principal;
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(REQUIRED_PERMISSION, targets);
    if (permission && roleAllows(principal.role, permission)) return true;
    const audited = this.reflector.get<AuditedSpec | undefined>(AUDITED, context.getHandler());
    if (audited) await recordRequest(this.audit, req, audited, { outcome: 'refused', targetId: audited.targetFromRequest(req), detail: { status: 403 } });
    throw new DomainError(ERROR_CODES.forbidden, permission ? `the role "${principal.role}" may not do this` : 'this route is not open to any role');
  }

  private async authenticate(req: Request): Promise<Principal> {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    const principal = match ? await this.tokens.verify(match[1]) : null;
    if (principal) return principal;
    // Only failures count: a valid token is never locked out by someone else's guesses
    // from the same address (an office behind one NAT address).
    await this.failures.countFailure(req.ip ?? 'unknown');
    throw new DomainError(ERROR_CODES.unauthorized, match ? 'invalid or revoked token' : 'missing bearer token (Authorization: Bearer <token>)');
  }
}

import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { ApiTokensService, type Principal } from './api-tokens.service';

export const API_PREFIX = '/api/v1';

export type AuthenticatedRequest = Request & { principal?: Principal };

/**
 * Global guard: every /api/v1 route needs `Authorization: Bearer <token>`; /health,
 * /metrics and the OpenAPI docs do not.
 */
@Injectable()
export class BearerGuard implements CanActivate {
  constructor(private readonly tokens: ApiTokensService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const path = req.path ?? '';
    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return true;
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new DomainError(ERROR_CODES.unauthorized, 'missing bearer token (Authorization: Bearer <token>)');
    const principal = await this.tokens.verify(match[1]);
    if (!principal) throw new DomainError(ERROR_CODES.unauthorized, 'invalid or revoked token');
    req.principal = principal;
    return true;
  }
}

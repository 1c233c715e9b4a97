import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from './access.guard';

/**
 * Each token's request budget (TOKEN_REQUESTS_PER_MINUTE), after the access guard has named
 * the caller; public routes are counted per client address. 429 answers carry Retry-After.
 */
@Injectable()
export class TokenBudgetGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = (req as unknown as AuthenticatedRequest).principal;
    if (principal) return Promise.resolve(`token:${principal.tokenId ?? principal.name}`);
    return Promise.resolve(`address:${String(req.ip ?? 'unknown')}`);
  }
}

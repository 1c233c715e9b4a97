import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { DomainError, ERROR_CODES } from '@pbx/contracts';

export const AUTH_FAILURE_LIMIT = Symbol('AUTH_FAILURE_LIMIT');

const WINDOW_MS = 60_000;
const THROTTLER_NAME = 'auth-failures';

/** Thrown as 429 with Retry-After (seconds) by the problem-details filter. */
export class RateLimitedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(ERROR_CODES.rateLimited, message);
  }
}

/**
 * Failed authentications per client address, counted in @nestjs/throttler's storage: past
 * AUTH_FAILURES_PER_MINUTE the address is answered 429 for a minute instead of 401.
 */
@Injectable()
export class AuthFailuresService {
  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    @Inject(AUTH_FAILURE_LIMIT) private readonly limit: number,
  ) {}

  async countFailure(address: string): Promise<void> {
    const record = await this.storage.increment(`auth-failure:${address}`, WINDOW_MS, this.limit, WINDOW_MS, THROTTLER_NAME);
    if (record.isBlocked) {
      throw new RateLimitedError('too many failed authentications from this address; try again later', Math.max(1, record.timeToBlockExpire));
    }
  }
}

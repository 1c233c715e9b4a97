import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import { RateLimitedError } from '../auth/auth-failures.service';
import { problem, STATUS_OF, writeProblem, type ProblemDetails } from './problem-details';

/**
 * The one place errors become HTTP: DomainError codes map through STATUS_OF, Nest's
 * HttpExceptions keep their status, anything else is a 500 without internals (logged
 * with name/message/stack only: driver errors carry query parameters).
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const body = this.toProblem(exception, req);
    // Throttler's own 429 has set Retry-After already; ours carry it on the error.
    const headers: Record<string, string> = exception instanceof RateLimitedError ? { 'Retry-After': String(exception.retryAfterSeconds) } : {};
    writeProblem(res, { ...body, instance: req.originalUrl?.split('?')[0] }, headers);
  }

  toProblem(exception: unknown, req: Request): ProblemDetails {
    if (exception instanceof DomainError) {
      const status = STATUS_OF[exception.code] ?? 500;
      if (exception.code === ERROR_CODES.validation) {
        return problem(status, exception.code, exception.message, { errors: exception.errors });
      }
      return problem(status, exception.code, exception.message, { ...exception.details, ...(exception.errors.length ? { errors: exception.errors } : {}) });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 429) return problem(429, ERROR_CODES.rateLimited, 'too many requests for this token; try again later');
      // The unknown path is not repeated: reflected input is what probes look for.
      const detail = status === 404 ? 'no such route' : exception.message;
      return problem(status, status === 404 ? ERROR_CODES.notFound : `http_${status}`, detail);
    }
    const err = exception instanceof Error ? exception : new Error(String(exception));
    this.logger.error({ error: { name: err.name, message: err.message, stack: err.stack }, method: req.method, path: req.path }, 'unhandled error');
    return problem(500, 'internal', 'An unexpected error occurred; the server log has the details.');
  }
}

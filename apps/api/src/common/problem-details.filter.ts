import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
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
    writeProblem(res, { ...body, instance: req.originalUrl?.split('?')[0] });
  }

  toProblem(exception: unknown, req: Request): ProblemDetails {
    if (exception instanceof DomainError) {
      const status = STATUS_OF[exception.code] ?? 500;
      if (exception.code === ERROR_CODES.validation) {
        return problem(status, exception.code, exception.message, { errors: exception.errors });
      }
      return problem(status, exception.code, exception.message, exception.errors.length ? { errors: exception.errors } : {});
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const detail = status === 404 ? `no route ${req.method} ${req.path}` : exception.message;
      return problem(status, status === 404 ? ERROR_CODES.notFound : `http_${status}`, detail);
    }
    const err = exception instanceof Error ? exception : new Error(String(exception));
    this.logger.error({ error: { name: err.name, message: err.message, stack: err.stack }, method: req.method, path: req.path }, 'unhandled error');
    return problem(500, 'internal', 'An unexpected error occurred; the server log has the details.');
  }
}

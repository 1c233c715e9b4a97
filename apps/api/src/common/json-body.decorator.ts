import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError, ERROR_CODES } from '@pbx/contracts';

/**
 * The parsed JSON body of a request that must have one. Express leaves `req.body` undefined
 * when nothing was parsed (no body, a form, text), and body-parser reads a JSON request with
 * `Content-Length: 0` as `{}`: both are refused with 415 instead, as `{}` would mean
 * "everything" to a bulk operation. Whether the JSON is the right shape (an object, not an
 * array or scalar) is the schema's job (400).
 */
export const JsonBody = createParamDecorator((_data: unknown, ctx: ExecutionContext): unknown => {
  const req = ctx.switchToHttp().getRequest<Request>();
  if (req.body === undefined || req.headers['content-length'] === '0') {
    throw new DomainError(ERROR_CODES.unsupportedMediaType, 'the request needs a JSON body (Content-Type: application/json)');
  }
  return req.body;
});

import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { ref } from './request-schemas';

const PROBLEM_TEXT: Record<number, string> = {
  400: 'Validation failed (errors[] names each field)',
  401: 'Missing or invalid bearer token',
  403: 'The token\'s role does not allow this',
  429: 'Too many requests (Retry-After says when to try again)',
  404: 'Unknown id',
  409: 'Conflict',
  410: 'Gone',
  415: 'The body is not JSON (or there is none)',
  416: 'Range not satisfiable',
  422: 'Refused by a third party (e.g. Dropbox code exchange)',
  503: 'This server is not set up for it (e.g. no Dropbox app: DROPBOX_APP_SECRET)',
};

/** Problem responses (application/problem+json) an operation may answer with. */
export function ApiProblems(...statuses: number[]): MethodDecorator {
  return applyDecorators(
    ...[...new Set([401, 403, 429, ...statuses])].map((status) =>
      ApiResponse({ status, description: PROBLEM_TEXT[status] ?? 'Error', content: { 'application/problem+json': { schema: ref('Problem') } } }),
    ),
  );
}

export function ApiJson(status: number, schema: string, description: string): MethodDecorator {
  return ApiResponse({ status, description, content: { 'application/json': { schema: ref(schema) } } });
}

export function ApiJsonBody(schema: string): MethodDecorator {
  return ApiBody({ required: true, schema: ref(schema) });
}

export const ApiId = (name = 'id', description = 'UUID'): MethodDecorator => ApiParam({ name, required: true, schema: { type: 'string', format: 'uuid' }, description });

export function ApiPaging(): MethodDecorator {
  return applyDecorators(
    ApiQuery({ name: 'page', required: false, schema: { type: 'integer', minimum: 1, default: 1 } }),
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } }),
  );
}

import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
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

/** One event of a live stream: its name, its data's schema, and what the summary adds after the schema's name. */
export interface StreamEventDoc {
  event: string;
  schema: string;
  note?: string;
}

/**
 * A GET …/:id/events route (server-sent events; the shared plumbing is apps/api/src/live): the
 * operation text, the id parameter, the event-stream response and its problems, from the
 * subject (`a run`) and its events in the order the stream sends them.
 */
export function ApiEventStream(subject: string, events: StreamEventDoc[]): MethodDecorator {
  const listed = events.map((e) => `\`${e.event}\` (${e.schema}${e.note ?? ''})`).join(', ');
  return applyDecorators(
    ApiOperation({
      summary: `Follow ${subject} live (server-sent events)`,
      description:
        `text/event-stream. First the current state (also after a reconnect: Last-Event-ID needs no replay), then each change: ${listed}. ` +
        'The stream ends after the status event with `final: true`; a comment line every 15 s keeps it open. ' +
        'Send the bearer token as a header (fetch streaming), as for every route.',
    }),
    ApiId(),
    ApiResponse({
      status: 200,
      description: `The event stream (event: ${events.map((e) => e.event).join(' | ')}; data: the JSON of ${events.map((e) => e.schema).join(', ')})`,
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    }),
    ApiProblems(404),
  );
}

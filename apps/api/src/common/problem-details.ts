import type { Response } from 'express';
import { ERROR_CODES, type ErrorCode, type FieldError } from '@pbx/contracts';

/** RFC 7807 body every error response has (`errors` only for validation). */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code?: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The single map from domain error codes to HTTP statuses. */
export const STATUS_OF: Record<ErrorCode, number> = {
  [ERROR_CODES.validation]: 400,
  [ERROR_CODES.notFound]: 404,
  [ERROR_CODES.conflict]: 409,
  [ERROR_CODES.gone]: 410,
  [ERROR_CODES.notReady]: 409,
  [ERROR_CODES.unauthorized]: 401,
  [ERROR_CODES.forbidden]: 403,
  [ERROR_CODES.rateLimited]: 429,
  [ERROR_CODES.unsupportedMediaType]: 415,
  [ERROR_CODES.alreadyReplayed]: 409,
  [ERROR_CODES.runFinished]: 409,
  [ERROR_CODES.permanent]: 422,
  [ERROR_CODES.transient]: 503,
  [ERROR_CODES.decryptFailed]: 422,
  [ERROR_CODES.hostKeyUnconfirmed]: 422,
  [ERROR_CODES.destinationUnreachable]: 422,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function titleOf(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Error');
}

/** `type` URIs name the problem kind; clients may switch on them. */
export function problemType(code: string): string {
  return `urn:pbx-backup:problem:${code.replace(/_/g, '-')}`;
}

export function problem(status: number, code: string, detail: string, extra: Partial<ProblemDetails> = {}): ProblemDetails {
  return { type: problemType(code), title: titleOf(status), status, detail, code, ...extra };
}

export function writeProblem(res: Response, body: ProblemDetails, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

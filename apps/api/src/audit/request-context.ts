import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

const current = new AsyncLocalStorage<Request>();

/**
 * Keeps the request reachable from code it calls, so an event a service reports mid-request
 * (a host key pinned while saving) is recorded with the caller and address of that request.
 */
export function requestContext(req: Request, _res: Response, next: NextFunction): void {
  current.run(req, next);
}

export function currentRequest(): Request | undefined {
  return current.getStore();
}

import express, { type NextFunction, type Request, type Response } from 'express';
import { problem, writeProblem } from './problem-details';

/**
 * JSON body parsing with problem+json errors. Body-parser errors happen before Nest's
 * exception filters, so they are answered here. The function names matter: Nest skips
 * registering its own parsers when middleware with these names is already in place.
 */
export function jsonBodyMiddleware(limit: string): { jsonParser: express.RequestHandler; urlencodedParser: express.RequestHandler } {
  const parse = express.json({ limit, strict: false, type: ['application/json', 'application/*+json'] });
  const jsonParser = function jsonParser(req: Request, res: Response, next: NextFunction): void {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; status?: number };
      if (e.type === 'entity.too.large') return writeProblem(res, problem(413, 'payload_too_large', `the request body is larger than ${limit}`));
      if (e.type === 'entity.parse.failed') return writeProblem(res, problem(400, 'malformed_json', 'the request body is not valid JSON', { errors: [{ field: 'body', message: 'must be valid JSON' }] }));
      if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return writeProblem(res, problem(415, 'unsupported_media_type', 'the request body must be UTF-8 JSON'));
      writeProblem(res, problem(e.status && e.status >= 400 && e.status < 500 ? e.status : 400, 'bad_request', 'the request body could not be read'));
    });
  };
  // Only JSON is accepted: a form body is left unparsed and fails validation as "not a JSON object".
  const urlencodedParser = function urlencodedParser(_req: Request, _res: Response, next: NextFunction): void {
    next();
  };
  return { jsonParser, urlencodedParser };
}

import { isUtf8 } from 'node:buffer';
import express, { type NextFunction, type Request, type Response } from 'express';
import { problem, writeProblem } from './problem-details';

/** The verify hook's refusal; body-parser passes the `type` on to our error handler. */
class MalformedUtf8Error extends Error {
  readonly type = 'encoding.malformed';
}

/**
 * body-parser decodes with iconv, which turns invalid bytes into U+FFFD without a word, and
 * such a name would be stored and become a folder. The raw bytes are checked before decoding
 * so a malformed body is refused instead. JSON is UTF-8 (RFC 8259); other utf-* charsets are
 * refused too, as the 415 message has always said.
 */
function strictUtf8(_req: Request, _res: Response, raw: Buffer, encoding: string): void {
  if (encoding !== 'utf-8') throw Object.assign(new Error('not UTF-8'), { type: 'charset.unsupported' });
  if (!isUtf8(raw)) throw new MalformedUtf8Error('malformed UTF-8');
}

/**
 * JSON body parsing with problem+json errors (the app is created with `bodyParser: false`).
 * Body-parser errors happen before Nest's exception filters, so they are answered here. Only
 * JSON is parsed: a form body stays unparsed and fails validation as "not a JSON object".
 */
export function jsonBodyMiddleware(limit: string): express.RequestHandler {
  const parse = express.json({ limit, strict: false, type: ['application/json', 'application/*+json'], verify: strictUtf8 });
  return function jsonBody(req: Request, res: Response, next: NextFunction): void {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; status?: number };
      if (e.type === 'entity.too.large') return writeProblem(res, problem(413, 'payload_too_large', `the request body is larger than ${limit}`));
      if (e.type === 'entity.parse.failed') return writeProblem(res, problem(400, 'malformed_json', 'the request body is not valid JSON', { errors: [{ field: 'body', message: 'must be valid JSON' }] }));
      if (e.type === 'encoding.malformed') return writeProblem(res, problem(400, 'malformed_json', 'the request body is not valid UTF-8', { errors: [{ field: 'body', message: 'must be valid UTF-8' }] }));
      if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return writeProblem(res, problem(415, 'unsupported_media_type', 'the request body must be UTF-8 JSON'));
      writeProblem(res, problem(e.status && e.status >= 400 && e.status < 500 ? e.status : 400, 'bad_request', 'the request body could not be read'));
    });
  };
}

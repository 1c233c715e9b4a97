import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * helmet's headers (nosniff, CSP, COOP/CORP, Referrer-Policy, …) on every response, with:
 * - no page may be framed: the API has none meant for embedding (clickjacking);
 * - styles and fonts from this origin only (helmet also allows any https: origin);
 * - no `upgrade-insecure-requests`: the service is often reached over plain http on a LAN,
 *   where upgraded script URLs would break the Swagger page.
 * Swagger UI's page loads its scripts from this origin and has inline <style> blocks only,
 * so `script-src 'self'` holds and `style-src` needs 'unsafe-inline'.
 */
export function securityHeaders(): RequestHandler[] {
  return [
    helmet({
      contentSecurityPolicy: {
        directives: {
          'frame-ancestors': ["'none'"],
          'style-src': ["'self'", "'unsafe-inline'"],
          'font-src': ["'self'", 'data:'],
          'upgrade-insecure-requests': null,
        },
      },
      frameguard: { action: 'deny' },
    }),
    noStore,
  ];
}

/** Responses carry configurations, run state and archives: no browser or proxy may keep a copy. */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

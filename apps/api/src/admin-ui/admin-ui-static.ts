import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServeStaticModuleOptions } from '@nestjs/serve-static';

/**
 * The admin UI's client-side routes: a first segment of lower-case letters, digits and dashes
 * other than `api`, then plain segments (e.g. /backups, /runs/<id>). Only these get index.html.
 * Any other spelling (/API/…, /%61pi/…, //api/…, /api/v1/unknown) falls through to Nest's
 * problem+json 404, so no spelling of an API path is ever answered by the UI.
 */
export const ADMIN_UI_ROUTE = /^\/(?:(?!api(?:\/|$))[a-z0-9][a-z0-9-]*(?:\/[A-Za-z0-9-]+)*)?\/?$/;

/**
 * The built admin UI, served as static files on the api's own origin (no CORS). These are public
 * by design: serve-static answers from plain Express handlers registered after Nest's routes,
 * outside any controller, so the access guard never runs for them and cannot be bypassed through
 * them — every /api route is a Nest route and matched first. The files hold no data; everything
 * they show comes from /api with the user's token.
 */
export function adminUiStatic(dir: string | undefined): ServeStaticModuleOptions[] {
  if (!dir || !existsSync(join(dir, 'index.html'))) return [];
  return [{ rootPath: dir, renderPath: ADMIN_UI_ROUTE, serveStaticOptions: { index: 'index.html', dotfiles: 'ignore', fallthrough: true } }];
}

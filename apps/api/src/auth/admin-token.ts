import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '@pbx/observability';

export const DEFAULT_ADMIN_TOKEN_FILE = './var/admin-token';

/**
 * The admin token: ADMIN_API_TOKEN, or (quick start) a random one for this run written to
 * `file` with mode 0600. Only the path is logged, never the token.
 */
export async function resolveAdminToken(configured: string | undefined, logger: Logger, file = DEFAULT_ADMIN_TOKEN_FILE): Promise<string> {
  if (configured) return configured;
  const token = `pbx_admin_${randomBytes(32).toString('base64url')}`;
  const path = resolve(file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // writeFile keeps the mode of an existing file
  logger.warn(`no ADMIN_API_TOKEN set; this run's admin token is written to ${path} (mode 0600). Set ADMIN_API_TOKEN for a stable token.`);
  return token;
}

// A separate entry point ('@pbx/runtime/destinations'): it loads the destination adapters and
// their client libraries, which only the dispatcher needs at boot.
import type { AppEnv } from '@pbx/config';
import { HostAllowlist, type DestinationRegistry } from '@pbx/destinations';
import { createDestinationRegistry, dropboxAuthorizeUrl, exchangeDropboxCode } from '@pbx/destinations/adapters';

/** The destination adapters, wired from the environment (api: tests; dispatcher: uploads). */
export function destinationRegistryFromEnv(env: AppEnv): DestinationRegistry {
  return createDestinationRegistry({
    localRoot: env.LOCAL_BACKUP_ROOT,
    localVerify: env.LOCAL_VERIFY,
    usbRoot: env.USB_MOUNT_ROOT,
    usbAllowUnmounted: env.USB_ALLOW_UNMOUNTED,
    smtpUrl: env.SMTP_URL,
    mailFrom: env.MAIL_FROM,
    mailMaxBytes: env.MAIL_MAX_BYTES,
    dropbox: { appKey: env.DROPBOX_APP_KEY, appSecret: env.DROPBOX_APP_SECRET, apiBase: env.DROPBOX_API_BASE, requestTimeoutMs: env.DESTINATION_IDLE_TIMEOUT_MS },
    hosts: HostAllowlist.parse(env.DESTINATION_HOSTS_ALLOWED),
    timeouts: { connectMs: env.DESTINATION_CONNECT_TIMEOUT_MS, idleMs: env.DESTINATION_IDLE_TIMEOUT_MS },
  });
}

/** Trades a Dropbox authorization code for a refresh token with the app's credentials. */
export function exchangeDropboxCodeFromEnv(env: AppEnv, code: string): Promise<string> {
  return exchangeDropboxCode(code, { appKey: env.DROPBOX_APP_KEY, appSecret: env.DROPBOX_APP_SECRET, apiBase: env.DROPBOX_API_BASE });
}

/** Dropbox's authorize URL for the app in the environment (fails naming a missing app setting). */
export function dropboxAuthorizeUrlFromEnv(env: AppEnv): Promise<string> {
  return dropboxAuthorizeUrl({ appKey: env.DROPBOX_APP_KEY, appSecret: env.DROPBOX_APP_SECRET });
}

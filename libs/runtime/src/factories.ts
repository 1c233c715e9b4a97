import type { AppEnv } from '@pbx/config';
import { createDestinationRegistry, HostAllowlist, type DestinationRegistry } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { SecretBox } from '@pbx/secrets';

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
    dropbox: { appKey: env.DROPBOX_APP_KEY, appSecret: env.DROPBOX_APP_SECRET, apiBase: env.DROPBOX_API_BASE },
    hosts: HostAllowlist.parse(env.DESTINATION_HOSTS_ALLOWED),
  });
}

/** Secrets at rest: SECRETS_KEY, or a development key with a loud warning. */
export function secretBoxFromEnv(env: AppEnv, logger: Logger): SecretBox {
  return SecretBox.fromKeyRingOrDevKey(env.SECRETS_KEY, { onDevKey: (info) => logger.warn({ keyId: info.keyId }, info.message) });
}

import type { envSchema } from './env';

/** The five deployable apps (their names in compose services, systemd units and logs). */
export const APP_NAMES = ['api', 'scheduler', 'packer', 'dispatcher', 'notifier'] as const;
export type AppName = (typeof APP_NAMES)[number];

export type EnvName = keyof typeof envSchema.shape;

/** Every app talks to Postgres, RabbitMQ and Redis (CoreModule). */
const SHARED: readonly EnvName[] = ['DATABASE_URL', 'AMQP_URL', 'REDIS_URL'];
/** A worker without HEALTH_PORT has neither /health nor /metrics. */
const WORKER: readonly EnvName[] = [...SHARED, 'HEALTH_PORT'];

/**
 * What a deployment must set for each app. The schema gives these defaults so a developer's
 * machine starts with no setup (127.0.0.1, ./var, a public development key, a random admin
 * token), but each of those is wrong or unsafe on a server. One source for the compose check
 * (scripts/check-compose.mjs), the systemd environment file and the boot warning.
 */
export const DEPLOYMENT_REQUIRED: Readonly<Record<AppName, readonly EnvName[]>> = {
  api: [...SHARED, 'SECRETS_KEY', 'ADMIN_API_TOKEN', 'ARTIFACT_DIR', 'PORT'],
  scheduler: WORKER,
  packer: [...WORKER, 'SECRETS_KEY', 'ARTIFACT_DIR', 'PBX_ID', 'PBX_DATABASE_URL', 'PBX_DATA_DIR'],
  dispatcher: [...WORKER, 'SECRETS_KEY', 'ARTIFACT_DIR', 'LOCAL_BACKUP_ROOT', 'USB_MOUNT_ROOT', 'SMTP_URL', 'MAIL_FROM'],
  notifier: [...WORKER, 'SMTP_URL', 'MAIL_FROM'],
};

export function isAppName(name: string): name is AppName {
  return (APP_NAMES as readonly string[]).includes(name);
}

/** The variables `app` needs in a deployment that `raw` leaves unset or empty. */
export function missingDeploymentEnv(app: AppName, raw: Record<string, string | undefined>): EnvName[] {
  return DEPLOYMENT_REQUIRED[app].filter((name) => raw[name] === undefined || raw[name] === '');
}

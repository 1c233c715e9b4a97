import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * The environment every app reads once at boot (names and defaults from the public
 * contract, docs/operations.md lists them all). Each app picks the fields it needs;
 * a missing or malformed value stops the app with a message naming the variable.
 */
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL (${protocols.join(' or ')})`);

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).default(def ? 'true' : 'false').transform((v) => ['true', '1', 'yes'].includes(v));
const dir = (def: string) => z.string().min(1).default(def).transform((p) => resolve(p));

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** json: one JSON object a line; pretty: pino-pretty for a terminal. Unset: pretty when stdout is a TTY (libs/observability). */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/pbx_backup'),
  /** Postgres schema of the service's own tables (tests isolate themselves with it). */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default('public'),
  AMQP_URL: url(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
  /** Prefix for every exchange and queue name (tests and side-by-side installs). */
  AMQP_NAMESPACE: z.string().regex(/^[a-z0-9-]*\.?$/).default(''),
  AMQP_PREFETCH: int(4, 1),
  /** Attempts before a failing message is dead-lettered, and the first retry delay (doubles). */
  AMQP_MAX_ATTEMPTS: int(5, 1),
  AMQP_RETRY_DELAY_MS: int(2000, 10),
  /**
   * How a delivery rides out a transient failure (its own retry policy, not the transport's):
   * it keeps trying for DELIVERY_RETRY_FOR_MS after its first failure, waiting from
   * DELIVERY_RETRY_FIRST_DELAY_MS, doubling with jitter, at most DELIVERY_RETRY_MAX_DELAY_MS
   * (also the cap on a server's Retry-After).
   */
  DELIVERY_RETRY_FOR_MS: int(6 * 60 * 60 * 1000, 0),
  DELIVERY_RETRY_FIRST_DELAY_MS: int(5000, 10),
  DELIVERY_RETRY_MAX_DELAY_MS: int(10 * 60 * 1000, 10),
  /** Optional cap on a delivery's attempts (counted on its row) inside that time; unset: the time alone decides. */
  DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).optional(),
  /** Network destinations (SFTP, SMB, e-mail): connecting may take this long, a transfer may stall this long. */
  DESTINATION_CONNECT_TIMEOUT_MS: int(20_000, 100),
  DESTINATION_IDLE_TIMEOUT_MS: int(60_000, 100),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  PBX_DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/pbx'),
  PBX_DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).default('public'),
  PBX_DATA_DIR: dir('./var/pbx-data'),
  PBX_ID: z.string().min(1).default('pbx-1'),
  ARTIFACT_DIR: dir('./var/artifacts'),
  /**
   * Where packed archives wait for delivery and download (docs/operations.md#artifact-store):
   * fs (ARTIFACT_DIR, shared by every packer, dispatcher and api) or s3 (a bucket; ARTIFACT_DIR
   * is then each host's own scratch space).
   */
  ARTIFACT_STORE: z.enum(['fs', 's3']).default('fs'),
  /** S3-compatible endpoint (MinIO, Ceph RGW, Wasabi…); unset: AWS for S3_REGION. */
  S3_ENDPOINT: url(['http:', 'https:']).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').optional(),
  /** Key prefix of the artifacts in the bucket, e.g. `pbx-1/` (a trailing slash is added when missing). */
  S3_PREFIX: z.string().default('').transform((p) => (p === '' || p.endsWith('/') ? p : `${p}/`)),
  /** Both or neither; neither: the SDK's default chain (instance role, AWS_* variables, profile). */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), which most self-hosted servers need. */
  S3_FORCE_PATH_STYLE: bool(false),
  LOCAL_BACKUP_ROOT: dir('./var/backups'),
  /**
   * How local and USB copies are checked: 'size' (they are fsynced either way), or 'sha256'
   * to also hash the archive while it is copied (a second read and hash pass; bench/deliver).
   */
  LOCAL_VERIFY: z.enum(['size', 'sha256']).default('size'),
  USB_MOUNT_ROOT: dir('./var/usb'),
  /** Treat any directory below USB_MOUNT_ROOT as a volume (tests, or volumes that are not separate mounts). */
  USB_ALLOW_UNMOUNTED: bool(false),
  SMTP_URL: url(['smtp:', 'smtps:']).default('smtp://127.0.0.1:25'),
  MAIL_FROM: z.string().min(3).default('pbx-backup <pbx-backup@localhost>'),
  MAIL_MAX_BYTES: int(20 * 1024 * 1024, 1),
  SECRETS_KEY: z.string().optional(),
  ADMIN_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** How long audit events are kept (issue #15; docs/security.md). */
  AUDIT_RETENTION_DAYS: int(365, 1),
  /** Failed authentications one client address may make a minute before it gets 429. */
  AUTH_FAILURES_PER_MINUTE: int(20, 1),
  /** Requests one token (or, on public routes, one address) may make a minute. */
  TOKEN_REQUESTS_PER_MINUTE: int(600, 1),
  /** Comma-separated CIDRs and host names destinations may point at; empty = anywhere. */
  DESTINATION_HOSTS_ALLOWED: z.string().default(''),
  /** Comma-separated CIDRs and host names webhooks may point at (checked on save and on each call); empty = anywhere. */
  WEBHOOK_HOSTS_ALLOWED: z.string().default(''),
  /** One webhook call (connect, send, answer) may take this long before it counts as failed and is retried. */
  WEBHOOK_TIMEOUT_MS: int(10_000, 100),
  /** Hard limit of one POST /destinations/test, and how many one token may run at once. */
  DESTINATION_TEST_TIMEOUT_MS: int(15000, 100),
  DESTINATION_TESTS_PER_TOKEN: int(4, 1),
  PORT: int(3000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.string().optional(),
  /** Health port of a worker app (0 = none). */
  HEALTH_PORT: int(0),
  RUN_MIGRATIONS: bool(false),
  /** Delay before a run that found the maintenance lock held starts again. */
  MAINTENANCE_DEFER_MS: int(60 * 60 * 1000, 1),
  MAINTENANCE_LOCK_TTL_MS: int(30_000, 1000),
  /** Redis key of the PBX maintenance lock; unset: maintenanceLockKey(PBX_ID) (tests isolate with their own). */
  MAINTENANCE_LOCK_KEY: z.string().min(1).optional(),
  /** How often a packer looks whether the lock a deferred run waits for has freed (docs/scheduling.md). */
  MAINTENANCE_RECHECK_MS: int(15_000, 100),
  /** How often a dispatcher closes runs whose deliveries are all final but which are still dispatching. */
  RUN_SWEEP_INTERVAL_MS: int(60_000, 100),
  /** How often a dispatcher looks for stored copies whose scheduled read-back (a configuration's verify.schedule) is due. */
  VERIFY_SCHEDULE_CHECK_MS: int(15 * 60_000, 100),
  PACKER_CONCURRENCY: int(1, 1),
  /**
   * 0: audio is stored in the .sar, as format 1 (API.md) specifies. 1-9: audio is deflated at
   * this level, for archives about the size of `zip -r`'s (docs/sar-format.md, bench/pack).
   */
  SAR_AUDIO_DEFLATE_LEVEL: z.coerce.number().int().min(0).max(9).default(0),
  DOWNLOAD_WINDOW_MS: int(24 * 60 * 60 * 1000, 0),
  /** An upload (POST /api/v1/uploads) is removed this long after it was created, finished or not. */
  UPLOAD_TTL_MS: int(24 * 60 * 60 * 1000, 1000),
  /** Who gets the report of a restore from an upload (a run's or a destination's restore goes to its configuration's report-to); unset: nobody. */
  RESTORE_REPORT_TO: z.email().optional(),
  /**
   * Tests only (refused when NODE_ENV=production): `<section>:<step>` — the packer's restore
   * stops there (RestoreCheckpoint of libs/restore) and waits to be killed, so a test can kill it
   * mid-section (test/e2e/restore-kill.e2e-spec.ts).
   */
  RESTORE_TEST_PAUSE_AT: z
    .string()
    .regex(/^(coreData|cdrAndVoicemails|announcements):(journal-opened|audio-staged|tables-loaded|tables-committed|audio-half-swapped|audio-swapped)$/, 'must be <section>:<restore step>')
    .optional(),
  SCHEDULER_MAX_SLEEP_MS: int(30_000, 100),
  STALENESS_CHECK_MS: int(60_000, 100),
  DEFAULT_TIMEZONE: z.string().default(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'),
  DROPBOX_APP_KEY: z.string().default('pbx-backup'),
  DROPBOX_APP_SECRET: z.string().optional(),
  /** Base URL of a Dropbox-compatible API (tests point it at a local fake). */
  DROPBOX_API_BASE: z.string().optional(),
});

export type AppEnv = Omit<z.infer<typeof envSchema>, 'MAINTENANCE_LOCK_KEY'> & { MAINTENANCE_LOCK_KEY: string };

/**
 * The default maintenance lock key: one per PBX, so two installs sharing a Redis do not wait
 * for each other. (Before issue #22 it was 'pbx:maintenance' for every PBX; docs/operations.md
 * says how to upgrade packers without two keys in use at once.)
 */
export function maintenanceLockKey(pbxId: string): string {
  return `pbx:${pbxId}:maintenance`;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the raw environment once; throws a ConfigError naming every bad variable. */
export function loadEnv(raw: Record<string, string | undefined>): AppEnv {
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const env: AppEnv = { ...parsed.data, MAINTENANCE_LOCK_KEY: parsed.data.MAINTENANCE_LOCK_KEY ?? maintenanceLockKey(parsed.data.PBX_ID) };
  if (env.SECRETS_KEY !== undefined && !isValidKeyRing(env.SECRETS_KEY)) {
    throw new ConfigError(['SECRETS_KEY: must be 64 hex characters or base64 of 32 bytes, optionally "id:key,id:key" (first is current)']);
  }
  if (env.ARTIFACT_STORE === 's3' && env.S3_BUCKET === undefined) {
    throw new ConfigError(['S3_BUCKET: required when ARTIFACT_STORE=s3']);
  }
  if ((env.S3_ACCESS_KEY_ID === undefined) !== (env.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new ConfigError(['S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: give both or neither (neither: the SDK default credential chain)']);
  }
  if (env.RESTORE_TEST_PAUSE_AT !== undefined && env.NODE_ENV === 'production') {
    throw new ConfigError(['RESTORE_TEST_PAUSE_AT: a test knob (it stops every restore); not allowed with NODE_ENV=production']);
  }
  if (env.DELIVERY_RETRY_MAX_DELAY_MS < env.DELIVERY_RETRY_FIRST_DELAY_MS) {
    throw new ConfigError([`DELIVERY_RETRY_MAX_DELAY_MS: must be at least DELIVERY_RETRY_FIRST_DELAY_MS (${env.DELIVERY_RETRY_FIRST_DELAY_MS})`]);
  }
  return env;
}

function isValidKeyRing(value: string): boolean {
  return value.split(',').every((part) => {
    const key = part.includes(':') ? part.slice(part.indexOf(':') + 1) : part;
    return /^[0-9a-f]{64}$/i.test(key) || Buffer.from(key, 'base64').length === 32;
  });
}

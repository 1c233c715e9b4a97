import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { migrateDatabase } from '@pbx/persistence';
import { migratePbxSchema } from '@pbx/pbx-source';
import { amqpNamespace, deleteAmqpNamespace, freshSchema, peers, repoRoot, tempDir, testUrls, uniqueName } from '@pbx/testing';
import { ApiClient, appsRoot, Stack, type AppName } from './stack';

/** What one e2e suite owns: its own schemas, broker namespace, lock key and directories. */
export interface E2eEnv {
  /** The apps' environment; a suite may add to it before `start`. */
  env: Record<string, string>;
  dir: string;
  schema: string;
  pbxSchema: string;
  lockKey: string;
  redis: Redis;
  admin: string;
  stack: Stack;
  api: ApiClient;
  /** Spawns the apps and waits until they are healthy. */
  start(apps?: readonly AppName[]): Promise<void>;
  /** Stops the apps and removes everything the suite created (KEEP_E2E_DIR keeps the files). */
  teardown(): Promise<void>;
}

/**
 * Creates and migrates a suite's Postgres schemas (service + PBX), and the environment every
 * e2e suite shares (fast retries, short lock TTL, its own namespace and directories), with
 * `overrides` on top.
 */
export async function createE2eEnv(prefix: string, overrides: Record<string, string> = {}): Promise<E2eEnv> {
  const dirs = await tempDir(`pbx-e2e-${prefix}-`);
  const schema = await freshSchema(`e2e${prefix}`);
  const pbxSchema = await freshSchema(`e2e${prefix}pbx`);
  const ns = amqpNamespace();
  const lockKey = uniqueName(`e2e-${prefix}-lock`);
  const admin = `e2e-admin-${randomBytes(8).toString('hex')}`;
  const redis = new Redis(testUrls.redis);
  if (appsRoot === repoRoot) await migrateDatabase({ url: testUrls.database, schema: schema.name });
  // Another checkout's apps (PBX_E2E_APPS_ROOT) get that checkout's migrations.
  else execFileSync(process.execPath, [join(appsRoot, 'dist/scripts/migrate.js')], { env: { ...process.env, DATABASE_URL: testUrls.database, DATABASE_SCHEMA: schema.name }, stdio: 'ignore' });
  await migratePbxSchema({ databaseUrl: testUrls.database, schema: pbxSchema.name });
  mkdirSync(join(dirs.path, 'usb'), { recursive: true });
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: testUrls.database,
    DATABASE_SCHEMA: schema.name,
    PBX_DATABASE_URL: testUrls.database,
    PBX_DATABASE_SCHEMA: pbxSchema.name,
    PBX_DATA_DIR: join(dirs.path, 'pbx'),
    AMQP_URL: testUrls.amqp,
    AMQP_NAMESPACE: ns,
    AMQP_RETRY_DELAY_MS: '200',
    AMQP_MAX_ATTEMPTS: '3',
    // A delivery's own retries, scaled down: a destination that stays down is final within about a second.
    DELIVERY_RETRY_FIRST_DELAY_MS: '200',
    DELIVERY_RETRY_MAX_DELAY_MS: '400',
    DELIVERY_RETRY_FOR_MS: '1000',
    REDIS_URL: testUrls.redis,
    ARTIFACT_DIR: join(dirs.path, 'artifacts'),
    LOCAL_BACKUP_ROOT: join(dirs.path, 'backups'),
    USB_MOUNT_ROOT: join(dirs.path, 'usb'),
    SMTP_URL: peers.smtp.url,
    MAIL_FROM: 'pbx-backup-e2e <e2e@localhost>',
    SECRETS_KEY: randomBytes(32).toString('hex'),
    ADMIN_API_TOKEN: admin,
    MAINTENANCE_LOCK_KEY: lockKey,
    MAINTENANCE_DEFER_MS: '3000',
    MAINTENANCE_LOCK_TTL_MS: '4000',
    SCHEDULER_MAX_SLEEP_MS: '1000',
    DEFAULT_TIMEZONE: 'Europe/Berlin',
    ...overrides,
  };
  const stack = new Stack(env, dirs.path);
  const e: E2eEnv = {
    env,
    dir: dirs.path,
    schema: schema.name,
    pbxSchema: pbxSchema.name,
    lockKey,
    redis,
    admin,
    stack,
    api: new ApiClient('', admin), // replaced once the api has its port
    async start(apps) {
      await stack.start(apps);
      e.api = new ApiClient(stack.apiUrl, admin);
    },
    async teardown() {
      await stack.stop();
      redis.disconnect();
      await deleteAmqpNamespace(ns).catch(() => undefined);
      await schema.drop();
      await pbxSchema.drop();
      // Only a developer's shell sets it, to look at the apps' logs and files afterwards.
      if (process.env.KEEP_E2E_DIR) console.log(`e2e files kept in ${dirs.path}`);
      else await dirs.remove();
    },
  };
  return e;
}

import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Logger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity } from '@pbx/persistence';
import { startApp } from '@pbx/runtime';
import { SecretBox } from '@pbx/secrets';
import { amqpNamespace, deleteAmqpNamespace, migratedDatabase, tempDir, testEnv, uniqueName } from '@pbx/testing';
import { DispatcherModule } from './dispatcher.module';
import type { Clock } from './dispatcher.tokens';

type EnvOverrides = Record<string, string | number | boolean | undefined>;

/** A destination row as a spec seeds it (secrets already sealed, or none). */
export interface DestinationSeed {
  type: DestinationEntity['type'];
  settings: Record<string, unknown>;
  secrets?: Record<string, string>;
}

/**
 * What one dispatcher integration test owns: its own schema, broker namespace and folders
 * (artifacts, local backups, USB), and the dispatchers it starts on them — all removed after
 * the test. Call at the top of a `describe`: it registers the hooks.
 */
export interface DispatcherTestBed {
  readonly db: Awaited<ReturnType<typeof migratedDatabase>>;
  readonly dir: string;
  readonly ns: string;
  readonly box: SecretBox;
  readonly secretsKey: string;
  /** ARTIFACT_DIR, LOCAL_BACKUP_ROOT and USB_MOUNT_ROOT of this test's dispatchers. */
  readonly paths: { artifacts: string; backups: string; usb: string };
  /** Starts a dispatcher (consuming its two queues) with the bed's environment, the spec's defaults and `overrides`. */
  start(overrides?: EnvOverrides, options?: { clock?: Clock }): Promise<INestApplication>;
  /** A manual backup configuration (core data only, UTC) with `destinations` in order; `fields` on top. */
  configuration(destinations: DestinationSeed[], fields?: Partial<ConfigurationEntity>): Promise<ConfigurationEntity>;
}

export function dispatcherTestBed(prefix: string, options: { logger: Logger; secretsKey: string; env?: EnvOverrides }): DispatcherTestBed {
  let db: DispatcherTestBed['db'] | undefined;
  let dirs: Awaited<ReturnType<typeof tempDir>> | undefined;
  let ns: string | undefined;
  const apps: INestApplication[] = [];
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('dispatcherTestBed: used outside a test');
    return value;
  };

  beforeEach(async () => {
    db = await migratedDatabase(prefix);
    dirs = await tempDir();
    ns = amqpNamespace();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    if (ns) await deleteAmqpNamespace(ns);
    await db?.close();
    await dirs?.remove();
  });

  const bed: DispatcherTestBed = {
    get db() {
      return need(db);
    },
    get dir() {
      return need(dirs).path;
    },
    get ns() {
      return need(ns);
    },
    box: new SecretBox(options.secretsKey),
    secretsKey: options.secretsKey,
    get paths() {
      const root = need(dirs).path;
      return { artifacts: join(root, 'artifacts'), backups: join(root, 'backups'), usb: join(root, 'usb') };
    },
    async start(overrides = {}, { clock } = {}) {
      const { artifacts, backups, usb } = bed.paths;
      const env = testEnv({
        DATABASE_SCHEMA: bed.db.schema, AMQP_NAMESPACE: bed.ns, ARTIFACT_DIR: artifacts, LOCAL_BACKUP_ROOT: backups, USB_MOUNT_ROOT: usb,
        SECRETS_KEY: options.secretsKey, ...options.env, ...overrides,
      });
      const app = await startApp({ service: 'dispatcher', env, logger: options.logger, module: DispatcherModule.forRoot(env, options.logger, { clock }), queues: ['dispatcher.packed.v1', 'dispatcher.deliver.v1'], port: 0 });
      apps.push(app);
      return app;
    },
    async configuration(destinations, fields = {}) {
      const name = uniqueName('Nightly full');
      return bed.db.dataSource.transaction(async (tx) => {
        const cfg = await tx.save(tx.create(ConfigurationEntity, {
          kind: 'backup', name, nameKey: name.toLowerCase(), reportTo: 'ops@example.com', interval: 'manual', startAt: null, timezone: 'UTC',
          data: { coreData: true, cdrAndVoicemails: false, announcements: false }, keepLast: null, notifyOnSuccess: false, language: 'en', ephemeral: false,
          ...fields,
        }));
        for (const [i, d] of destinations.entries()) await tx.save(tx.create(DestinationEntity, { configurationId: cfg.id, position: i, type: d.type, settings: d.settings, secrets: d.secrets ?? {} }));
        return cfg;
      });
    },
  };
  return bed;
}

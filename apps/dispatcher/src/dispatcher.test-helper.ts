import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { OutboxWriter } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity, RunEntity, RunsRepository } from '@pbx/persistence';
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

/** How a spec wants its packed run; every field has a default. */
export interface PackedRunSeed {
  /** The artifact's size in random bytes (256 KiB). */
  size?: number;
  /** The artifact's file name, or how it follows from the run's id (`<configuration>_20261201-013000.sar`). */
  fileName?: string | ((runId: string) => string);
  /** The run's scheduled time (left as createRun made it). */
  scheduledFor?: Date | null;
  /** false: no backup.packed, so nothing fans the run out (true). */
  announce?: boolean;
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
  /** A destination of a test peer (`peerSftpDestination`, `peerSmbDestination`) as a seed: its password sealed, `settings` on top (say, a proxy's port). */
  peerDestination(destination: { type: DestinationEntity['type']; password: string } & Record<string, unknown>, settings?: Record<string, unknown>): DestinationSeed;
  /** A run of `cfg` as the packer leaves it: dispatching, its artifact in ARTIFACT_DIR, backup.packed in the outbox (no packer here). */
  packedRun(cfg: ConfigurationEntity, seed?: PackedRunSeed): Promise<{ run: RunEntity; sha256: string; fileName: string }>;
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
    peerDestination({ type, password, ...peerSettings }, settings = {}) {
      return { type, settings: { ...peerSettings, ...settings }, secrets: { password: bed.box.seal(password) } };
    },
    async packedRun(cfg, { size = 256 * 1024, fileName: nameOf = `${cfg.name}_20261201-013000.sar`, scheduledFor, announce = true } = {}) {
      const content = randomBytes(size);
      const sha256 = createHash('sha256').update(content).digest('hex');
      const outbox = new OutboxWriter(bed.db.schema);
      let fileName = '';
      const run = await bed.db.dataSource.transaction(async (tx) => {
        const r = await new RunsRepository(bed.db.dataSource, outbox).createRun(tx, { configuration: cfg, trigger: 'manual' });
        fileName = typeof nameOf === 'string' ? nameOf : nameOf(r.id);
        await tx.update(RunEntity, { id: r.id }, { status: 'dispatching', ...(scheduledFor === undefined ? {} : { scheduledFor }), packedAt: new Date(), artifactFileName: fileName, artifactSize: size, artifactSha256: sha256 });
        await tx.query(`UPDATE outbox SET published_at = now() WHERE correlation_id = $1`, [r.id]);
        if (announce) await outbox.enqueue(tx, 'backup.packed', { runId: r.id, kind: 'backup', artifact: { fileName, size, sha256 } }, { correlationId: r.id });
        return r;
      });
      await mkdir(bed.paths.artifacts, { recursive: true });
      await writeFile(join(bed.paths.artifacts, `${run.id}.sar`), content);
      return { run, sha256, fileName };
    },
  };
  return bed;
}

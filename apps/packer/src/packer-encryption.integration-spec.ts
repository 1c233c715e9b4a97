import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EncryptionSettings } from '@pbx/contracts';
import { OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity, RunEntity, RunsRepository } from '@pbx/persistence';
import { migratePbxSchema, seedPbx } from '@pbx/pbx-source';
import { startApp } from '@pbx/runtime';
import { verifySar } from '@pbx/sar';
import { SecretBox } from '@pbx/secrets';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, freshSchema, migratedDatabase, tempDir, testEnv, testUrls, uniqueName } from '@pbx/testing';
import { PackerModule } from './packer.module';

// The packer encrypts while packing (docs/encryption.md): `<run>.sar.age` that the stock
// age tool opens to a valid .sar; the plain .sar never stays; the run records the encrypted file.

const SECRETS_KEY = 'b2'.repeat(32);
const PASSPHRASE = 'packer test passphrase 7f3a';
const logLines: string[] = [];
const logger = createLogger({ service: 'packer-test', level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('packer: encrypted archives (real Postgres, RabbitMQ, Redis; the age CLI)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let pbx: Awaited<ReturnType<typeof freshSchema>>;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let ns: string;
  let app: INestApplication;
  let keyFile: string;
  let publicKey: string;
  const artifacts = () => join(dirs.path, `artifacts-${db.schema}`);

  beforeAll(async () => {
    pbx = await freshSchema('pbxenc');
    dirs = await tempDir();
    await migratePbxSchema({ databaseUrl: testUrls.database, schema: pbx.name });
    await seedPbx({ databaseUrl: testUrls.database, schema: pbx.name, dataDir: join(dirs.path, 'pbx'), users: 10, cdr: 300, voicemails: 3, announcements: 1, minAudioBytes: 20_000, maxAudioBytes: 30_000 });
    keyFile = join(dirs.path, 'key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    publicKey = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    db = await migratedDatabase('pkenc');
    ns = amqpNamespace();
    const env = testEnv({
      DATABASE_SCHEMA: db.schema,
      PBX_DATABASE_SCHEMA: pbx.name,
      PBX_DATA_DIR: join(dirs.path, 'pbx'),
      ARTIFACT_DIR: join(dirs.path, `artifacts-${db.schema}`),
      AMQP_NAMESPACE: ns,
      MAINTENANCE_LOCK_KEY: uniqueName('lock'),
      SECRETS_KEY,
      LOG_LEVEL: 'debug',
    });
    app = await startApp({ service: 'packer', env, logger, module: PackerModule.forRoot(env, logger), queues: ['packer.jobs.v1', 'archiver.finalize.v1'], port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await deleteAmqpNamespace(ns);
    await db?.close();
    await pbx.drop();
    await dirs.remove();
  });

  async function createRun(ds: DataSource, encryption: EncryptionSettings, encryptionPassphrase: string | null = null): Promise<RunEntity> {
    const name = uniqueName('enc');
    return ds.transaction(async (tx) => {
      const cfg = await tx.save(
        tx.create(ConfigurationEntity, {
          kind: 'backup', name, nameKey: name.toLowerCase(), reportTo: 'ops@example.com', interval: 'manual', startAt: null, timezone: 'UTC',
          data: { coreData: true, cdrAndVoicemails: true, announcements: false }, keepLast: null, notifyOnSuccess: false, language: 'en', ephemeral: false,
          encryption, encryptionPassphrase,
        }),
      );
      await tx.save(tx.create(DestinationEntity, { configurationId: cfg.id, position: 0, type: 'local', settings: {}, secrets: {} }));
      return new RunsRepository(ds, new OutboxWriter(db.schema)).createRun(tx, { configuration: cfg, trigger: 'manual' });
    });
  }

  const finished = (id: string) =>
    expectEventually(async () => {
      const r = await db.dataSource.manager.findOneByOrFail(RunEntity, { id });
      return r.status === 'dispatching' || r.status === 'failed' ? r : null;
    }, { timeoutMs: 60_000 });

  /** The plain .sar inside an encrypted artifact, written next to it. */
  async function expectValidSarInside(plain: string): Promise<void> {
    const verified = await verifySar(plain);
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.manifest.sections.sort()).toEqual(['cdr', 'core', 'voicemail']);
  }

  it('recipients: <run>.sar.age that age -d -i opens to a valid .sar; no plain .sar stays; the run and backup.packed carry the encrypted size and sha256', async () => {
    const run = await createRun(db.dataSource, { mode: 'recipients', recipients: [publicKey] });
    const packed = await finished(run.id);
    expect(packed.status).toBe('dispatching');
    expect(packed.artifactFileName).toMatch(new RegExp(`_\\d{8}-\\d{6}_${run.id.slice(0, 8)}\\.sar\\.age$`));
    const file = join(artifacts(), `${run.id}.sar.age`);
    expect(readdirSync(artifacts()).filter((f) => f.startsWith(run.id))).toEqual([`${run.id}.sar.age`]);
    expect(readFileSync(file).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect({ size: Number(packed.artifactSize), sha256: packed.artifactSha256 }).toEqual({ size: readFileSync(file).length, sha256: sha256(file) });
    const [{ payload }] = await db.dataSource.query(`SELECT payload FROM outbox WHERE correlation_id = $1 AND type = 'backup.packed'`, [run.id]);
    expect(payload.artifact).toEqual({ fileName: packed.artifactFileName, size: Number(packed.artifactSize), sha256: packed.artifactSha256 });

    const plain = join(dirs.path, `${run.id}.sar`);
    execFileSync('age', ['-d', '-i', keyFile, '-o', plain, file]);
    await expectValidSarInside(plain);
  });

  it('passphrase: the sealed passphrase is opened at packing time; age -d (at a terminal) opens the file; the passphrase is in no log line or event', async () => {
    const run = await createRun(db.dataSource, { mode: 'passphrase' }, new SecretBox(SECRETS_KEY).seal(PASSPHRASE));
    const packed = await finished(run.id);
    expect(packed.status).toBe('dispatching');
    expect(packed.artifactFileName).toMatch(/\.sar\.age$/);
    const file = join(artifacts(), `${run.id}.sar.age`);
    const plain = join(dirs.path, `${run.id}.sar`);
    execFileSync('script', ['-qec', `age -d -o '${plain}' '${file}'`, '/dev/null'], { input: `${PASSPHRASE}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
    await expectValidSarInside(plain);
    const stored = JSON.stringify(await db.dataSource.query(`SELECT o.payload, r.snapshot FROM outbox o JOIN runs r ON r.id = o.correlation_id::uuid WHERE r.id = $1`, [run.id]));
    expect(stored).not.toContain(PASSPHRASE);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(PASSPHRASE))).toEqual([]);
  }, 60_000);

  it('passphrase mode without a stored passphrase: the run fails saying so, and nothing (plain or encrypted) is left', async () => {
    const run = await createRun(db.dataSource, { mode: 'passphrase' }, null);
    const failed = await finished(run.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/no longer holds its encryption passphrase/);
    expect(readdirSync(artifacts()).filter((f) => f.startsWith(run.id))).toEqual([]);
  });
});

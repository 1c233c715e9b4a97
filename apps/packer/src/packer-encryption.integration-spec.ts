import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EncryptionSettings } from '@pbx/contracts';
import { createLogger } from '@pbx/observability';
import { RunEntity } from '@pbx/persistence';
import { verifySar } from '@pbx/sar';
import { SecretBox } from '@pbx/secrets';
import { expectEventually, uniqueName } from '@pbx/testing';
import { packerTestBed } from './packer.test-helper';

// The packer encrypts while packing (docs/encryption.md): `<run>.sar.age` that the stock
// age tool opens to a valid .sar; the plain .sar never stays; the run records the encrypted file.

const SECRETS_KEY = 'b2'.repeat(32);
const PASSPHRASE = 'packer test passphrase 7f3a';
const logLines: string[] = [];
const logger = createLogger({ service: 'packer-test', level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('packer: encrypted archives (real Postgres, RabbitMQ, Redis; the age CLI)', () => {
  const bed = packerTestBed('pkenc', {
    logger,
    scope: 'suite',
    pbx: { prefix: 'pbxenc', seed: { users: 10, cdr: 300, voicemails: 3, announcements: 1, minAudioBytes: 20_000, maxAudioBytes: 30_000 } },
    env: { SECRETS_KEY, LOG_LEVEL: 'debug' },
  });
  let keyFile: string;
  let publicKey: string;
  const artifacts = () => bed.artifactDir;

  beforeAll(async () => {
    keyFile = join(bed.dir, 'key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    publicKey = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    await bed.start();
  });

  const createRun = (encryption: EncryptionSettings, encryptionPassphrase: string | null = null): Promise<RunEntity> =>
    bed.run({ name: uniqueName('enc'), data: { coreData: true, cdrAndVoicemails: true, announcements: false }, encryption, encryptionPassphrase });

  const finished = (id: string) =>
    expectEventually(async () => {
      const r = await bed.runOf(id);
      return r.status === 'dispatching' || r.status === 'failed' ? r : null;
    }, { timeoutMs: 60_000 });

  /** The plain .sar inside an encrypted artifact, written next to it. */
  async function expectValidSarInside(plain: string): Promise<void> {
    const verified = await verifySar(plain);
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.manifest.sections.sort()).toEqual(['cdr', 'core', 'voicemail']);
  }

  it('recipients: <run>.sar.age that age -d -i opens to a valid .sar; no plain .sar stays; the run and backup.packed carry the encrypted size and sha256', async () => {
    const run = await createRun({ mode: 'recipients', recipients: [publicKey] });
    const packed = await finished(run.id);
    expect(packed.status).toBe('dispatching');
    expect(packed.artifactFileName).toMatch(new RegExp(`_\\d{8}-\\d{6}_${run.id.slice(0, 8)}\\.sar\\.age$`));
    const file = join(artifacts(), `${run.id}.sar.age`);
    expect(readdirSync(artifacts()).filter((f) => f.startsWith(run.id))).toEqual([`${run.id}.sar.age`]);
    expect(readFileSync(file).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect({ size: Number(packed.artifactSize), sha256: packed.artifactSha256 }).toEqual({ size: readFileSync(file).length, sha256: sha256(file) });
    const [{ payload }] = await bed.db.dataSource.query(`SELECT payload FROM outbox WHERE correlation_id = $1 AND type = 'backup.packed'`, [run.id]);
    expect(payload.artifact).toEqual({ fileName: packed.artifactFileName, size: Number(packed.artifactSize), sha256: packed.artifactSha256 });

    const plain = join(bed.dir, `${run.id}.sar`);
    execFileSync('age', ['-d', '-i', keyFile, '-o', plain, file]);
    await expectValidSarInside(plain);
  });

  it('passphrase: the sealed passphrase is opened at packing time; age -d (at a terminal) opens the file; the passphrase is in no log line or event', async () => {
    const run = await createRun({ mode: 'passphrase' }, new SecretBox(SECRETS_KEY).seal(PASSPHRASE));
    const packed = await finished(run.id);
    expect(packed.status).toBe('dispatching');
    expect(packed.artifactFileName).toMatch(/\.sar\.age$/);
    const file = join(artifacts(), `${run.id}.sar.age`);
    const plain = join(bed.dir, `${run.id}.sar`);
    execFileSync('script', ['-qec', `age -d -o '${plain}' '${file}'`, '/dev/null'], { input: `${PASSPHRASE}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
    await expectValidSarInside(plain);
    const stored = JSON.stringify(await bed.db.dataSource.query(`SELECT o.payload, r.snapshot FROM outbox o JOIN runs r ON r.id = o.correlation_id::uuid WHERE r.id = $1`, [run.id]));
    expect(stored).not.toContain(PASSPHRASE);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(PASSPHRASE))).toEqual([]);
  }, 60_000);

  it('passphrase mode without a stored passphrase: the run fails saying so, and nothing (plain or encrypted) is left', async () => {
    const run = await createRun({ mode: 'passphrase' }, null);
    const failed = await finished(run.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/no longer holds its encryption passphrase/);
    expect(readdirSync(artifacts()).filter((f) => f.startsWith(run.id))).toEqual([]);
  });
});

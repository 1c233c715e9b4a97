import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { DomainError } from '@pbx/contracts';
import { decryptFile, encryptFile, isAgeFile, openDecrypted, withPlainArchive } from './age-file';

// Interop with the stock age tool (apt: age 1.1.1; .ci/run installs it). Passphrases are read
// from the terminal by `age`, so those runs go through a pty (`script` from util-linux).

const PASSPHRASE = 'correct horse battery staple';
/** A valid secret key of no file here (from age-keygen). */
const SECRET_ELSEWHERE = 'AGE-SECRET-KEY-1KQZSX6J2TURCRR4F2NYT0LA4JCDNEPTFLSXTEZ84F57T7VE9QG4QHEPYKA';
// scrypt at age's work factor (2^18) takes a second or two per passphrase use.
const SCRYPT_MS = 30_000;

let dir: string;
let keyFile: string;
let publicKey: string;

function ageKeygen(path: string): string {
  execFileSync('age-keygen', ['-o', path], { stdio: 'pipe' });
  return execFileSync('age-keygen', ['-y', path], { encoding: 'utf8' }).trim();
}

/** Runs `age` with `input` typed at its terminal prompt(s). */
function ageOnTerminal(args: string[], input: string): void {
  const quoted = ['age', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  execFileSync('script', ['-qec', quoted, '/dev/null'], { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

async function expectDecryptFailed(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect((err as DomainError).code).toBe('decrypt_failed');
  expect((err as DomainError).message).toMatch(reason);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'age-file-'));
  keyFile = join(dir, 'key.txt');
  publicKey = ageKeygen(keyFile);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('encryptFile (recipients) and the age CLI', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['exactly one 64 KiB chunk', 65536],
    ['several chunks and a tail', 3 * 65536 + 1234],
  ])('%s: age -d -i key.txt gives the file back byte for byte; size and sha256 are of the encrypted file', async (_name, size) => {
    const plain = join(dir, `plain-${size}`);
    await writeFile(plain, randomBytes(size));
    const out = join(dir, `plain-${size}.age`);
    const result = await encryptFile(plain, out, { recipients: [publicKey] });
    expect(result).toEqual({ size: (await stat(out)).size, sha256: await sha256(out) });
    expect(await isAgeFile(out)).toBe(true);
    const back = execFileSync('age', ['-d', '-i', keyFile, out], { maxBuffer: 1 << 24 });
    expect(createHash('sha256').update(back).digest('hex')).toBe(await sha256(plain));
  });

  it('every one of several recipients decrypts alone', async () => {
    const otherKey = join(dir, 'other.txt');
    const otherPublic = ageKeygen(otherKey);
    const plain = join(dir, 'multi');
    await writeFile(plain, 'several admins hold keys');
    await encryptFile(plain, `${plain}.age`, { recipients: [publicKey, otherPublic] });
    for (const key of [keyFile, otherKey]) expect(execFileSync('age', ['-d', '-i', key, `${plain}.age`], { encoding: 'utf8' })).toBe('several admins hold keys');
  });
});

describe('encryptFile (passphrase) and the age CLI', () => {
  it('age -d asks for the passphrase and gives the file back; a wrong one is refused', async () => {
    const plain = join(dir, 'pass-plain');
    await writeFile(plain, randomBytes(200_000));
    await encryptFile(plain, `${plain}.age`, { passphrase: PASSPHRASE });
    ageOnTerminal(['-d', '-o', `${plain}.back`, `${plain}.age`], `${PASSPHRASE}\n`);
    expect(await sha256(`${plain}.back`)).toBe(await sha256(plain));
    expect(() => ageOnTerminal(['-d', '-o', `${plain}.wrong`, `${plain}.age`], 'not the passphrase at all\n')).toThrow();
    expect(existsSync(`${plain}.wrong`)).toBe(false);
  }, SCRYPT_MS);
});

describe('openDecrypted / decryptFile read what the age CLI wrote', () => {
  it('a file age -r encrypted, with the key file text or the bare secret key', async () => {
    const plain = join(dir, 'cli-plain');
    await writeFile(plain, randomBytes(150_000));
    execFileSync('age', ['-r', publicKey, '-o', `${plain}.age`, plain]);
    const keyText = await readFile(keyFile, 'utf8');
    await decryptFile(`${plain}.age`, `${plain}.back`, { identity: keyText });
    expect(await sha256(`${plain}.back`)).toBe(await sha256(plain));
    const bare = keyText.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const stream = await openDecrypted(`${plain}.age`, { identity: bare });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(await sha256(plain));
  });

  it('a file age -p encrypted, with the passphrase', async () => {
    const plain = join(dir, 'cli-pass');
    await writeFile(plain, 'typed at the terminal');
    ageOnTerminal(['-p', '-o', `${plain}.age`, plain], `${PASSPHRASE}\n${PASSPHRASE}\n`);
    expect(await text(await openDecrypted(`${plain}.age`, { passphrase: PASSPHRASE }))).toBe('typed at the terminal');
  }, SCRYPT_MS);
});

describe('decrypt_failed', () => {
  let encrypted: string;
  beforeAll(async () => {
    const plain = join(dir, 'secret-plain');
    await writeFile(plain, randomBytes(300_000));
    encrypted = `${plain}.age`;
    await encryptFile(plain, encrypted, { recipients: [publicKey] });
  });

  it('a wrong key or a passphrase for a recipients file: refused before anything is written', async () => {
    const otherKey = join(dir, 'stranger.txt');
    ageKeygen(otherKey);
    const out = join(dir, 'never-written');
    await expectDecryptFailed(decryptFile(encrypted, out, { identity: await readFile(otherKey, 'utf8') }), /does not open it/);
    await expectDecryptFailed(decryptFile(encrypted, out, { passphrase: PASSPHRASE }), /does not open it/);
    expect(existsSync(out)).toBe(false);
  }, SCRYPT_MS);

  it('a public key where a secret key belongs, and a file that is not age', async () => {
    await expectDecryptFailed(openDecrypted(encrypted, { identity: publicKey }), /AGE-SECRET-KEY-1/);
    const notAge = join(dir, 'plain.sar');
    await writeFile(notAge, 'PK\u0003\u0004 a zip');
    await expectDecryptFailed(openDecrypted(notAge, { identity: await readFile(keyFile, 'utf8') }), /not an age-encrypted file/);
  });

  it('a damaged payload fails the stream and leaves no partial plaintext', async () => {
    const bytes = await readFile(encrypted);
    bytes[bytes.length - 70_000] ^= 1;
    const damaged = join(dir, 'damaged.age');
    await writeFile(damaged, bytes);
    const out = join(dir, 'damaged-out');
    await expectDecryptFailed(decryptFile(damaged, out, { identity: await readFile(keyFile, 'utf8') }), /damaged or truncated/);
    expect(existsSync(out)).toBe(false);
    const truncated = join(dir, 'truncated.age');
    await writeFile(truncated, bytes.subarray(0, bytes.length - 65_552 * 2));
    await expectDecryptFailed(decryptFile(truncated, out, { identity: await readFile(keyFile, 'utf8') }), /damaged or truncated/);
  });
});

describe('withPlainArchive (how restore and preview open a .sar or .sar.age)', () => {
  it('a plain file is used as it is; an encrypted one through a 0600 copy that is gone afterwards; no key or a wrong one: decrypt_failed', async () => {
    const plain = join(dir, 'restore.sar');
    await writeFile(plain, 'PK plain archive');
    expect(await withPlainArchive(plain, undefined, dir, async (p) => p)).toBe(plain);
    await encryptFile(plain, `${plain}.age`, { recipients: [publicKey] });
    const identity = await readFile(keyFile, 'utf8');
    const seen = await withPlainArchive(`${plain}.age`, { identity }, dir, async (p) => ({ path: p, text: await readFile(p, 'utf8'), mode: (await stat(p)).mode & 0o777 }));
    expect(seen).toMatchObject({ text: 'PK plain archive', mode: 0o600 });
    expect(existsSync(seen.path)).toBe(false);
    await expectDecryptFailed(withPlainArchive(`${plain}.age`, undefined, dir, async () => 'used'), /it is encrypted/);
    const before = readdirSync(dir).length;
    await expectDecryptFailed(withPlainArchive(`${plain}.age`, { identity: SECRET_ELSEWHERE }, dir, async () => 'used'), /does not open it/);
    expect(readdirSync(dir).length).toBe(before);
  });
});

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { AgeFileWriter } from './age-file-writer';

// The packer's inline encryption: plaintext in any pieces, an age file out. Read back by
// age-encryption and the age CLI.

const MiB = 1024 * 1024;
let dir: string;
let identity: string;
let recipient: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'age-writer-'));
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function writeInPieces(path: string, plain: Buffer, key: { recipients: string[] } | { passphrase: string }) {
  const writer = await AgeFileWriter.open(path, key);
  for (let at = 0; at < plain.length; ) {
    const n = Math.min(plain.length - at, randomInt(1, 3 * 65536));
    await writer.write(plain.subarray(at, at + n));
    at += n;
  }
  return writer.finish();
}

async function theirDecrypt(file: Buffer, key: { identity: string } | { passphrase: string }): Promise<Buffer> {
  const d = new Decrypter();
  if ('identity' in key) d.addIdentity(key.identity);
  else d.addPassphrase(key.passphrase);
  return Buffer.from(await d.decrypt(file));
}

describe('AgeFileWriter', () => {
  it.each([0, 1, 65535, 65536, 65537, MiB, MiB + 1, 6 * MiB + 3])('%i bytes in random pieces: age-encryption decrypts it; size and sha256 are of the file', async (size) => {
    const plain = randomBytes(size);
    const path = join(dir, `w-${size}.age`);
    const result = await writeInPieces(path, plain, { recipients: [recipient] });
    const file = await readFile(path);
    expect(result).toEqual({ size: file.length, sha256: createHash('sha256').update(file).digest('hex') });
    expect((await theirDecrypt(file, { identity })).equals(plain)).toBe(true);
  });

  it('passphrase mode, and the age CLI reads a recipients file', async () => {
    const plain = randomBytes(200_000);
    const path = join(dir, 'pass.age');
    await writeInPieces(path, plain, { passphrase: 'writer passphrase' });
    expect((await theirDecrypt(await readFile(path), { passphrase: 'writer passphrase' })).equals(plain)).toBe(true);
    const keyFile = join(dir, 'key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    const cliRecipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    await writeInPieces(join(dir, 'cli.age'), plain, { recipients: [cliRecipient] });
    expect(execFileSync('age', ['-d', '-i', keyFile, join(dir, 'cli.age')], { maxBuffer: 1 << 24 }).equals(plain)).toBe(true);
  }, 30_000);

  it('a disk error (ENOSPC on /dev/full) rejects a later write or finish, with its code', async () => {
    const writer = await AgeFileWriter.open('/dev/full', { recipients: [recipient] });
    const err = await (async () => {
      for (let i = 0; i < 64; i++) await writer.write(randomBytes(MiB));
      await writer.finish();
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOSPC' });
    await writer.abort();
  });

  it('abort stops it: later writes are refused', async () => {
    const writer = await AgeFileWriter.open(join(dir, 'aborted.age'), { recipients: [recipient] });
    await writer.write(randomBytes(3 * MiB));
    await writer.abort();
    await expect(writer.write(Buffer.from('more'))).rejects.toThrow(/aborted/);
  });
});

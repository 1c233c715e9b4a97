import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// ESM-only package: the built apps load it with require() of ESM (Node >= 20.19), Jest through
// @swc/jest (transformIgnorePatterns in jest.config.js).
import { Decrypter, Encrypter } from 'age-encryption';
import { DomainError, ERROR_CODES } from '@pbx/contracts';

/**
 * age v1 (age-encryption.org/v1) files, streamed: constant memory whatever the archive's size.
 * Written with age-encryption (the TypeScript port by age's author), read back by the stock
 * `age` tool and vice versa (age-file.spec.ts drives the CLI).
 */

/** The first line of every age v1 file. */
export const AGE_HEADER = 'age-encryption.org/v1\n';

/** Whom a file is encrypted for: public keys (`age1…`), or one passphrase (scrypt). */
export type EncryptionKey = { recipients: readonly string[] } | { passphrase: string };
/**
 * What opens a file: the passphrase, or an identity — a secret key `AGE-SECRET-KEY-1…`, or the
 * text of an age-keygen key file (comment lines are skipped; every key in it is tried).
 */
export type DecryptionKey = { identity: string } | { passphrase: string };

export interface EncryptedFile {
  size: number;
  /** Lowercase hex SHA-256 of the encrypted file: what destinations store and verify. */
  sha256: string;
}

/** Read-ahead of the plain file; the cipher works in 64 KiB chunks either way. */
const READ_CHUNK = 1 << 20;

/** Encrypts `plainPath` into `outPath` (created or replaced), hashing what is written. */
export async function encryptFile(plainPath: string, outPath: string, key: EncryptionKey, opts: { signal?: AbortSignal } = {}): Promise<EncryptedFile> {
  const encrypter = new Encrypter();
  if ('passphrase' in key) encrypter.setPassphrase(key.passphrase);
  else {
    if (key.recipients.length === 0) throw new Error('encryptFile: no recipients');
    for (const recipient of key.recipients) encrypter.addRecipient(recipient);
  }
  const plain = createReadStream(plainPath, { highWaterMark: READ_CHUNK });
  const encrypted = await encrypter.encrypt(Readable.toWeb(plain) as ReadableStream<Uint8Array>);
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(encrypted as import('node:stream/web').ReadableStream<Uint8Array>), measure, createWriteStream(outPath), { signal: opts.signal });
  } finally {
    plain.destroy();
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * The plaintext of an age file as a stream. Resolves once the header is authenticated, so a
 * wrong key or passphrase rejects with `decrypt_failed` before a byte is read or written.
 * Every chunk is authenticated before it is passed on; a damaged or truncated file makes the
 * stream fail with `decrypt_failed`, so a consumer never mistakes a partial read for the file.
 */
export async function openDecrypted(path: string, key: DecryptionKey): Promise<Readable> {
  const decrypter = decrypterFor(key);
  await assertAgeFile(path);
  const source = createReadStream(path, { highWaterMark: READ_CHUNK });
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await decrypter.decrypt(Readable.toWeb(source) as ReadableStream<Uint8Array>);
  } catch (err) {
    source.destroy();
    throw asDecryptFailed(err, 'the key or passphrase does not open it (it was encrypted for other keys, or the passphrase is wrong)');
  }
  const inner = Readable.fromWeb(plain as import('node:stream/web').ReadableStream<Uint8Array>);
  const out = new PassThrough();
  inner.on('error', (err) => out.destroy(asDecryptFailed(err, 'it is damaged or truncated (authentication failed); nothing of it can be trusted')));
  out.on('close', () => {
    if (!inner.destroyed) inner.destroy();
    source.destroy();
  });
  inner.pipe(out);
  return out;
}

/**
 * Decrypts `path` into `outPath` (random access for ZIP readers). On any failure `outPath` is
 * removed: no partial plaintext is left behind.
 */
export async function decryptFile(path: string, outPath: string, key: DecryptionKey): Promise<void> {
  const plain = await openDecrypted(path, key);
  try {
    await pipeline(plain, createWriteStream(outPath, { mode: 0o600 }));
  } catch (err) {
    await rm(outPath, { force: true });
    throw err;
  }
}

/**
 * Runs `use` on a plain `.sar`: the file itself when it is not age-encrypted, else a decrypted
 * copy in `tmpDir` (mode 0600, removed afterwards, whatever `use` does). An encrypted file with
 * no key, or a key that does not open it: decrypt_failed before anything is written. The
 * restore engine and preview call this around their work on `.sar.age` files.
 */
export async function withPlainArchive<T>(path: string, key: DecryptionKey | undefined, tmpDir: string, use: (plainPath: string) => Promise<T>): Promise<T> {
  if (!(await isAgeFile(path))) return use(path);
  if (key === undefined) throw decryptFailed('it is encrypted (age): give the identity (AGE-SECRET-KEY-1…) or the passphrase');
  const plainPath = join(tmpDir, `.decrypted-${randomUUID()}.sar`);
  try {
    await decryptFile(path, plainPath, key);
    return await use(plainPath);
  } finally {
    await rm(plainPath, { force: true });
  }
}

/** Whether the file starts like an age v1 file (armored files are not produced here). */
export async function isAgeFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(AGE_HEADER.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead).toString('latin1') === AGE_HEADER;
  } finally {
    await handle.close();
  }
}

/** The secret keys in an identity text (a bare key or a key file); comments and blank lines skipped. */
export function identitiesIn(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function decrypterFor(key: DecryptionKey): Decrypter {
  const decrypter = new Decrypter();
  if ('passphrase' in key) {
    decrypter.addPassphrase(key.passphrase);
    return decrypter;
  }
  const identities = identitiesIn(key.identity);
  if (identities.length === 0 || identities.some((id) => !id.startsWith('AGE-SECRET-KEY-1'))) {
    throw decryptFailed('the identity must be an age secret key (AGE-SECRET-KEY-1…) or the text of an age-keygen key file');
  }
  for (const identity of identities) decrypter.addIdentity(identity);
  return decrypter;
}

async function assertAgeFile(path: string): Promise<void> {
  if (!(await isAgeFile(path))) throw decryptFailed('it is not an age-encrypted file (age-encryption.org/v1)');
}

function decryptFailed(reason: string, cause?: unknown): DomainError {
  const err = new DomainError(ERROR_CODES.decryptFailed, `the archive could not be decrypted: ${reason}`);
  if (cause !== undefined) (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

/** File system errors stay what they are; anything the age format refuses is decrypt_failed. */
function asDecryptFailed(err: unknown, reason: string): Error {
  if (err instanceof DomainError) return err;
  if (typeof (err as NodeJS.ErrnoException)?.code === 'string') return err as Error;
  return decryptFailed(reason, err);
}

import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { AgeFileWriter } from './age-file-writer';
import {
  AgeEncryptor,
  AgeFormatError,
  AgePayloadDecryptor,
  fileKeyOf,
  identityKey,
  MAX_HEADER_BYTES,
  parseHeader,
  scryptUnwrapper,
  x25519Unwrapper,
  type ParsedHeader,
  type Unwrapper,
} from './age-native';

/**
 * age v1 (age-encryption.org/v1) files, streamed: constant memory whatever the archive's size.
 * Written and read with Node's native crypto (age-native.ts); read back by the stock `age` tool
 * and vice versa (age-file.spec.ts drives the CLI), and cross-checked against age-encryption,
 * the TypeScript port by age's author (age-native.spec.ts).
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

/** Read-ahead of the file; the cipher works in 64 KiB chunks either way. */
const READ_CHUNK = 1 << 20;

/**
 * `path` as an age file for `key`, written from plaintext fed to it (AgeFileWriter): the packer's ZIP writer writes the archive into it, so an encrypted archive is
 * written once, encrypted.
 */
export function openAgeFileWriter(path: string, key: EncryptionKey): Promise<AgeFileWriter> {
  return AgeFileWriter.open(path, key);
}

/** Encrypts `plainPath` into `outPath` (created or replaced), hashing what is written. */
export async function encryptFile(plainPath: string, outPath: string, key: EncryptionKey, opts: { signal?: AbortSignal } = {}): Promise<EncryptedFile> {
  const encryptor = await AgeEncryptor.create(key);
  const hash = createHash('sha256');
  let size = 0;
  async function* encrypt(plain: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const measured = function* (bytes: Buffer[]): Generator<Buffer> {
      for (const b of bytes) {
        hash.update(b);
        size += b.length;
        yield b;
      }
    };
    for await (const chunk of plain) yield* measured(encryptor.update(chunk));
    yield* measured(encryptor.final());
  }
  await pipeline(createReadStream(plainPath, { highWaterMark: READ_CHUNK }), encrypt, createWriteStream(outPath), { signal: opts.signal ?? new AbortController().signal });
  return { size, sha256: hash.digest('hex') };
}

/**
 * The plaintext of an age file as a stream. Resolves once the header is authenticated, so a
 * wrong key or passphrase rejects with `decrypt_failed` before a byte is read or written.
 * Every chunk is authenticated before it is passed on; a damaged or truncated file makes the
 * stream fail with `decrypt_failed`, so a consumer never mistakes a partial read for the file.
 */
export async function openDecrypted(path: string, key: DecryptionKey): Promise<Readable> {
  const unwrappers = unwrappersFor(key);
  await assertAgeFile(path);
  let fileKey: Buffer;
  let header: ParsedHeader;
  try {
    header = await readHeader(path);
    fileKey = await fileKeyOf(header, unwrappers);
  } catch (err) {
    if (err instanceof AgeFormatError && err.kind === 'format') throw decryptFailed(`its age header is damaged or altered (${err.message})`, err);
    throw asDecryptFailed(err, 'the key or passphrase does not open it (it was encrypted for other keys, or the passphrase is wrong)');
  }
  const source = createReadStream(path, { start: header.length, highWaterMark: READ_CHUNK });
  const decryptor = new AgePayloadDecryptor(fileKey);
  const out = new PassThrough();
  source.on('error', (err) => out.destroy(err));
  decryptor.on('error', (err) => out.destroy(asDecryptFailed(err, 'it is damaged or truncated (authentication failed); nothing of it can be trusted')));
  out.on('close', () => {
    source.destroy();
    decryptor.destroy();
  });
  source.pipe(decryptor).pipe(out);
  return out;
}

/** Reads and parses the header (a few hundred bytes; at most MAX_HEADER_BYTES are read). */
async function readHeader(path: string): Promise<ParsedHeader> {
  const handle = await open(path, 'r');
  try {
    let bytes = Buffer.alloc(0);
    for (;;) {
      const more = Buffer.allocUnsafe(4096);
      const { bytesRead } = await handle.read(more, 0, more.length, bytes.length);
      if (bytesRead === 0) throw new AgeFormatError('it ends inside its header', 'format');
      bytes = Buffer.concat([bytes, more.subarray(0, bytesRead)]);
      const header = parseHeader(bytes);
      if (header) return header;
      if (bytes.length > MAX_HEADER_BYTES) throw new AgeFormatError('its header is too long', 'format');
    }
  } finally {
    await handle.close();
  }
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

function unwrappersFor(key: DecryptionKey): Unwrapper[] {
  if ('passphrase' in key) return [scryptUnwrapper(key.passphrase)];
  const secrets = identitiesIn(key.identity).map(identityKey);
  if (secrets.length === 0 || secrets.some((secret) => secret === undefined)) {
    throw decryptFailed('the identity must be an age secret key (AGE-SECRET-KEY-1…) or the text of an age-keygen key file');
  }
  return secrets.map((secret) => x25519Unwrapper(secret!));
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

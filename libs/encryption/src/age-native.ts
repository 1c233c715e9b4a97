import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  scrypt,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { bech32Bytes } from '@pbx/contracts';

/**
 * age v1 (age-encryption.org/v1) with Node's native crypto (OpenSSL): ChaCha20-Poly1305, X25519,
 * HKDF-SHA256, scrypt, HMAC-SHA256. The payload runs at OpenSSL's speed (GB/s), which lets the
 * packer encrypt while it writes the archive (docs/encryption.md). Only what this product writes
 * and reads: X25519 recipients and one scrypt passphrase. Cross-checked against age-encryption
 * (the TypeScript port by age's author) and the `age` CLI in the specs.
 */

/** Plaintext bytes per STREAM chunk (spec: 64 KiB). */
export const PAYLOAD_CHUNK = 64 * 1024;
const TAG = 16;
const SEALED_CHUNK = PAYLOAD_CHUNK + TAG;
const FILE_KEY_BYTES = 16;
const PAYLOAD_NONCE_BYTES = 16;
const VERSION_LINE = 'age-encryption.org/v1';
const X25519_LABEL = 'age-encryption.org/v1/X25519';
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
/** What `age -p` and age-encryption use (2^18: about a second). */
export const SCRYPT_WORK_FACTOR = 18;
/** A file asking for more is refused (2^20 needs 1 GiB; age-encryption refuses above 20 too). */
const MAX_SCRYPT_WORK_FACTOR = 20;
/** Headers are a few hundred bytes; this bounds what is read before the MAC is checked. */
export const MAX_HEADER_BYTES = 1024 * 1024;
const COLUMNS = 64;
const ZERO_NONCE = Buffer.alloc(12);

// DER prefixes turning raw 32-byte X25519 keys into KeyObjects (RFC 8410).
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/** A malformed file, or a key that does not open it: the caller maps it to decrypt_failed. */
export class AgeFormatError extends Error {
  constructor(
    message: string,
    /** `key`: no identity or passphrase opens the header; `format`: the bytes are not valid age. */
    readonly kind: 'key' | 'format',
  ) {
    super(message);
  }
}

export interface Stanza {
  args: string[];
  body: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Primitives

function hkdf(ikm: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
}

function seal(key: Buffer, nonce: Buffer, plain: Buffer): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or undefined when the tag does not authenticate. */
function open(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < TAG) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  const plain = decipher.update(sealed.subarray(0, sealed.length - TAG));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plain;
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/** Unpadded canonical base64 only (the spec's "strict"): Node's decoder alone accepts anything. */
function unb64(text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]*$/.test(text) || b64(bytes) !== text) throw new AgeFormatError('invalid base64 in the header', 'format');
  return bytes;
}

const x25519Private = (raw: Buffer): KeyObject => createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
const x25519Public = (raw: Buffer): KeyObject => createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
const rawPublic = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);

/** X25519; an all-zero result (a low-order share) is refused, as the spec requires. */
function x25519(privateKey: KeyObject, publicRaw: Buffer): Buffer {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: x25519Public(publicRaw) });
  } catch {
    throw new AgeFormatError('invalid X25519 share', 'format');
  }
  if (shared.every((b) => b === 0)) throw new AgeFormatError('invalid X25519 share', 'format');
  return shared;
}

function scryptKey(passphrase: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(Buffer.from(passphrase, 'utf8'), Buffer.concat([Buffer.from(SCRYPT_LABEL), salt]), 32, { N, r: 8, p: 1, maxmem: 129 * N * 8 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** The 32 key bytes of an `age1…` recipient. */
export function recipientKey(recipient: string): Buffer {
  const bytes = bech32Bytes(recipient, 'age');
  if (bytes?.length !== 32) throw new Error(`not an age X25519 recipient: ${recipient.slice(0, 12)}…`);
  return Buffer.from(bytes);
}

/** The 32 secret bytes of an `AGE-SECRET-KEY-1…` identity, or undefined when it is not one. */
export function identityKey(identity: string): Buffer | undefined {
  if (identity !== identity.toUpperCase()) return undefined; // age-keygen prints it uppercase; Bech32 forbids mixed case
  const bytes = bech32Bytes(identity.toLowerCase(), 'age-secret-key-');
  return bytes?.length === 32 ? Buffer.from(bytes) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Stanzas: wrapping the file key for a recipient or a passphrase, and unwrapping it

function x25519Stanza(fileKey: Buffer, recipient: Buffer): Stanza {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const share = rawPublic(publicKey);
  const wrapKey = hkdf(x25519(privateKey, recipient), Buffer.concat([share, recipient]), X25519_LABEL);
  return { args: ['X25519', b64(share)], body: seal(wrapKey, ZERO_NONCE, fileKey) };
}

async function scryptStanza(fileKey: Buffer, passphrase: string, logN: number): Promise<Stanza> {
  const salt = randomBytes(16);
  return { args: ['scrypt', b64(salt), String(logN)], body: seal(await scryptKey(passphrase, salt, logN), ZERO_NONCE, fileKey) };
}

/** Something that may unwrap a file key from the header's stanzas. */
export type Unwrapper = (stanzas: readonly Stanza[]) => Promise<Buffer | undefined>;

export function x25519Unwrapper(secret: Buffer): Unwrapper {
  const privateKey = x25519Private(secret);
  const ours = rawPublic(createPublicKey(privateKey));
  return async (stanzas) => {
    for (const s of stanzas) {
      if (s.args[0] !== 'X25519') continue;
      if (s.args.length !== 2) throw new AgeFormatError('invalid X25519 stanza', 'format');
      const share = unb64(s.args[1]);
      if (share.length !== 32 || s.body.length !== FILE_KEY_BYTES + TAG) throw new AgeFormatError('invalid X25519 stanza', 'format');
      const wrapKey = hkdf(x25519(privateKey, share), Buffer.concat([share, ours]), X25519_LABEL);
      const fileKey = open(wrapKey, ZERO_NONCE, s.body);
      if (fileKey) return fileKey;
    }
    return undefined;
  };
}

export function scryptUnwrapper(passphrase: string): Unwrapper {
  return async (stanzas) => {
    const s = stanzas.find((st) => st.args[0] === 'scrypt');
    if (!s) return undefined;
    // The spec: a passphrase file has its scrypt stanza alone (no one else may hold the key).
    if (stanzas.length !== 1) throw new AgeFormatError('a scrypt stanza must be the only one', 'format');
    if (s.args.length !== 3 || !/^[1-9][0-9]?$/.test(s.args[2])) throw new AgeFormatError('invalid scrypt stanza', 'format');
    const salt = unb64(s.args[1]);
    const logN = Number(s.args[2]);
    if (salt.length !== 16 || s.body.length !== FILE_KEY_BYTES + TAG) throw new AgeFormatError('invalid scrypt stanza', 'format');
    if (logN > MAX_SCRYPT_WORK_FACTOR) throw new AgeFormatError(`its scrypt work factor 2^${logN} is above the limit 2^${MAX_SCRYPT_WORK_FACTOR}`, 'format');
    return open(await scryptKey(passphrase, salt, logN), ZERO_NONCE, s.body);
  };
}

// ---------------------------------------------------------------------------------------------
// Header

function headerMac(fileKey: Buffer, headerNoMac: Buffer): Buffer {
  return createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header')).update(headerNoMac).digest();
}

function encodeHeader(fileKey: Buffer, stanzas: readonly Stanza[]): Buffer {
  let text = `${VERSION_LINE}\n`;
  for (const s of stanzas) {
    text += `-> ${s.args.join(' ')}\n`;
    const body = b64(s.body);
    // Lines of 64 columns; the last is shorter, so a body of a multiple of 48 bytes ends with an empty line.
    for (let i = 0; i <= body.length; i += COLUMNS) text += `${body.slice(i, i + COLUMNS)}\n`;
  }
  const noMac = Buffer.from(`${text}---`, 'latin1');
  return Buffer.concat([noMac, Buffer.from(` ${b64(headerMac(fileKey, noMac))}\n`, 'latin1')]);
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The header up to and including `---`: what the MAC covers. */
  noMac: Buffer;
  mac: Buffer;
  /** Bytes of the whole header; the payload starts here. */
  length: number;
}

/**
 * Parses a header at the start of `bytes`; undefined when `bytes` ends before the header does
 * (read more). Throws AgeFormatError for anything that is not an age v1 header.
 */
export function parseHeader(bytes: Buffer): ParsedHeader | undefined {
  let pos = 0;
  const nextLine = (): string | undefined => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) return undefined;
    const line = bytes.toString('latin1', pos, end);
    pos = end + 1;
    return line;
  };
  const version = nextLine();
  if (version === undefined) return undefined;
  if (version !== VERSION_LINE) throw new AgeFormatError('not an age v1 file', 'format');
  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = pos;
    const line = nextLine();
    if (line === undefined) return undefined;
    if (line.startsWith('--- ')) {
      const mac = unb64(line.slice(4));
      if (mac.length !== 32) throw new AgeFormatError('invalid header MAC', 'format');
      return { stanzas, noMac: bytes.subarray(0, lineStart + 3), mac, length: pos };
    }
    if (!line.startsWith('-> ')) throw new AgeFormatError('invalid header line', 'format');
    const args = line.slice(3).split(' ');
    if (args.some((a) => a === '' || /[^\x21-\x7e]/.test(a))) throw new AgeFormatError('invalid stanza arguments', 'format');
    const body: Buffer[] = [];
    for (;;) {
      const bodyLine = nextLine();
      if (bodyLine === undefined) return undefined;
      if (bodyLine.length > COLUMNS) throw new AgeFormatError('invalid stanza body line', 'format');
      body.push(unb64(bodyLine));
      if (bodyLine.length < COLUMNS) break;
    }
    stanzas.push({ args, body: Buffer.concat(body) });
  }
}

/** The file key the header holds for one of `unwrappers`, its MAC checked. */
export async function fileKeyOf(header: ParsedHeader, unwrappers: readonly Unwrapper[]): Promise<Buffer> {
  for (const unwrap of unwrappers) {
    const fileKey = await unwrap(header.stanzas);
    if (!fileKey) continue;
    if (!timingSafeEqual(headerMac(fileKey, header.noMac), header.mac)) throw new AgeFormatError('its header was altered (MAC mismatch)', 'format');
    return fileKey;
  }
  throw new AgeFormatError('no identity or passphrase given opens it', 'key');
}

// ---------------------------------------------------------------------------------------------
// STREAM payload

/** ChaCha20-Poly1305 nonce of chunk `counter`: 11-byte big-endian counter, then the last-chunk flag. */
class ChunkNonce {
  readonly bytes = Buffer.alloc(12);
  private counter = 0;
  get index(): number {
    return this.counter;
  }
  next(): void {
    this.counter += 1;
    for (let i = 10; i >= 0; i--) {
      this.bytes[i] = (this.bytes[i] + 1) & 0xff;
      if (this.bytes[i] !== 0) break;
    }
  }
}

export type AgeRecipients = { recipients: readonly string[] } | { passphrase: string; workFactor?: number };

/** What an age file starts with, and the key its payload is sealed with. */
export interface AgePreamble {
  /** The header and the payload nonce: the file's first bytes. */
  prefix: Buffer;
  payloadKey: Buffer;
}

/** A fresh file key wrapped for `key`: the header, and the payload key under a fresh nonce. */
export async function agePreamble(key: AgeRecipients): Promise<AgePreamble> {
  const fileKey = randomBytes(FILE_KEY_BYTES);
  let stanzas: Stanza[];
  if ('passphrase' in key) stanzas = [await scryptStanza(fileKey, key.passphrase, key.workFactor ?? SCRYPT_WORK_FACTOR)];
  else {
    if (key.recipients.length === 0) throw new Error('age: no recipients');
    stanzas = key.recipients.map((r) => x25519Stanza(fileKey, recipientKey(r)));
  }
  const payloadNonce = randomBytes(PAYLOAD_NONCE_BYTES);
  return { prefix: Buffer.concat([encodeHeader(fileKey, stanzas), payloadNonce]), payloadKey: hkdf(fileKey, payloadNonce, 'payload') };
}

/** The STREAM encryption of a payload: plaintext in (any sizes), the file's payload bytes out. */
export interface StreamSealer {
  update(chunk: Buffer, out: Buffer[]): void;
  /** The last chunk (empty only for an empty payload, as the spec requires). */
  final(out: Buffer[]): void;
}

/**
 * The STREAM encryption. One 64 KiB chunk is held; a full chunk is sealed only once more data
 * follows, as the last chunk carries the flag. Used by AgeEncryptor and AgeFileWriter.
 */
export function streamSealer(crypto: Pick<typeof import('node:crypto'), 'createCipheriv'>, payloadKey: Buffer): StreamSealer {
  const chunkBytes = 65536;
  const pending = Buffer.allocUnsafe(chunkBytes);
  let pendingBytes = 0;
  // ChaCha20-Poly1305 nonce: 11-byte big-endian chunk counter, then the last-chunk flag.
  const nonce = Buffer.alloc(12);
  const seal = (last: boolean, out: Buffer[]) => {
    nonce[11] = last ? 1 : 0;
    const cipher = crypto.createCipheriv('chacha20-poly1305', payloadKey, nonce, { authTagLength: 16 });
    out.push(cipher.update(pending.subarray(0, pendingBytes)));
    cipher.final();
    out.push(cipher.getAuthTag());
    pendingBytes = 0;
    for (let i = 10; i >= 0; i--) {
      nonce[i] = (nonce[i] + 1) & 0xff;
      if (nonce[i] !== 0) break;
    }
  };
  return {
    update(chunk, out) {
      let at = 0;
      while (at < chunk.length) {
        if (pendingBytes === chunkBytes) seal(false, out);
        const n = Math.min(chunkBytes - pendingBytes, chunk.length - at);
        chunk.copy(pending, pendingBytes, at, at + n);
        pendingBytes += n;
        at += n;
      }
    },
    final(out) {
      seal(true, out);
    },
  };
}

/**
 * Encrypts a byte stream into an age file, synchronously: `update` and `final` return the
 * file's bytes in order (the header and payload nonce first). AgeFileWriter does the same into a
 * file, writing while it seals.
 */
export class AgeEncryptor {
  private readonly sealer: StreamSealer;
  private prefix: Buffer | null;
  private done = false;

  private constructor(preamble: AgePreamble) {
    this.sealer = streamSealer({ createCipheriv }, preamble.payloadKey);
    this.prefix = preamble.prefix;
  }

  static async create(key: AgeRecipients): Promise<AgeEncryptor> {
    return new AgeEncryptor(await agePreamble(key));
  }

  update(chunk: Buffer): Buffer[] {
    if (this.done) throw new Error('age: update after final');
    const out = this.takePrefix();
    this.sealer.update(chunk, out);
    return out;
  }

  final(): Buffer[] {
    if (this.done) throw new Error('age: final twice');
    const out = this.takePrefix();
    this.sealer.final(out);
    this.done = true;
    return out;
  }

  private takePrefix(): Buffer[] {
    const out = this.prefix ? [this.prefix] : [];
    this.prefix = null;
    return out;
  }
}

/**
 * The payload after the header as a Transform: ciphertext in, authenticated plaintext out, one
 * chunk at a time. A damaged chunk, a file cut at any byte (a chunk boundary included: the last
 * chunk must carry the flag) or bytes appended fail the stream with AgeFormatError.
 */
export class AgePayloadDecryptor extends Transform {
  private payloadKey: Buffer | null = null;
  private readonly nonce = new ChunkNonce();
  private rest: Buffer = Buffer.alloc(0);

  constructor(private readonly fileKey: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    if (!this.payloadKey) {
      if (buf.length < PAYLOAD_NONCE_BYTES) {
        this.rest = buf;
        return done();
      }
      this.payloadKey = hkdf(this.fileKey, buf.subarray(0, PAYLOAD_NONCE_BYTES), 'payload');
      buf = buf.subarray(PAYLOAD_NONCE_BYTES);
    }
    let at = 0;
    try {
      // More than a sealed chunk buffered: the first is not the last.
      while (buf.length - at > SEALED_CHUNK) {
        this.push(this.openChunk(buf.subarray(at, at + SEALED_CHUNK), false));
        at += SEALED_CHUNK;
      }
    } catch (err) {
      return done(err as Error);
    }
    this.rest = buf.subarray(at);
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.payloadKey) throw new AgeFormatError('it ends before its payload', 'format');
      if (this.rest.length === TAG && this.nonce.index > 0) throw new AgeFormatError('its last chunk is empty', 'format');
      this.push(this.openChunk(this.rest, true));
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private openChunk(sealed: Buffer, last: boolean): Buffer {
    this.nonce.bytes[11] = last ? 1 : 0;
    const plain = this.payloadKey && open(this.payloadKey, this.nonce.bytes, sealed);
    if (!plain) throw new AgeFormatError(`chunk ${this.nonce.index} does not authenticate`, 'format');
    this.nonce.next();
    return plain;
  }
}

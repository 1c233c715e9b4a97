import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DEV_KEY_ID, KeyRingError, SecretKey, devKey, generateKey, parseKeyRing } from './key-ring';

/** Prefix of the current sealed format; a future format gets "v2" and both stay readable. */
export const SEALED_VERSION = 'v1';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]*$/;

export type SecretErrorReason = 'malformed' | 'unsupported_version' | 'unknown_key' | 'tampered';

/**
 * A sealed value could not be opened. The message names the reason and the key id only:
 * never the plaintext, the ciphertext or key material, so it is safe to log.
 */
export class SecretError extends Error {
  constructor(
    readonly reason: SecretErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'SecretError';
  }
}

export interface DevKeyInfo {
  keyId: string;
  message: string;
}

export interface FromKeyRingOptions {
  /** Called once when no SECRETS_KEY is configured and the dev key is used: log it loudly. */
  onDevKey?: (info: DevKeyInfo) => void;
}

interface SealedParts {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/**
 * AES-256-GCM encryption of secret fields at rest.
 *
 * Sealed format: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url, no padding). The IV is random
 * per seal; `v1.<keyId>` is authenticated as AAD so a value cannot be re-labelled to another key.
 * Rotation: put the new key first in SECRETS_KEY and keep the old ones after it; `open` accepts
 * any key in the ring, `seal` always uses the first, `needsRotation` finds values to re-seal.
 */
export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: SecretKey;

  /** @param keyRing the SECRETS_KEY value (see parseKeyRing), or already parsed keys. */
  constructor(keyRing: string | readonly SecretKey[]) {
    const keys = typeof keyRing === 'string' ? parseKeyRing(keyRing) : [...keyRing];
    if (keys.length === 0) throw new KeyRingError('a SecretBox needs at least one key');
    this.current = keys[0];
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  /**
   * The box for SECRETS_KEY, or (when it is not set) one with a deterministic development key.
   * Production MUST set SECRETS_KEY: the development key is derived from a public string, so
   * anything sealed with it is readable by anyone with the source code.
   */
  static fromKeyRingOrDevKey(value: string | undefined, options: FromKeyRingOptions = {}): SecretBox {
    if (value !== undefined && value.trim() !== '') return new SecretBox(value);
    options.onDevKey?.({
      keyId: DEV_KEY_ID,
      message:
        'SECRETS_KEY is not set: secrets are sealed with a PUBLIC development key. ' +
        'Never run production like this; set SECRETS_KEY (e.g. the output of generateKey()).',
    });
    return new SecretBox([devKey()]);
  }

  static generateKey(): string {
    return generateKey();
  }

  /** True when the value has the shape of a sealed string (does not check it opens). */
  static isSealed(value: string): boolean {
    return value.startsWith(`${SEALED_VERSION}.`) && value.split('.').length === 5;
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.current.id));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [SEALED_VERSION, this.current.id, b64(iv), b64(tag), b64(ciphertext)].join('.');
  }

  open(sealed: string): string {
    const parts = parse(sealed);
    const key = this.keys.get(parts.keyId);
    if (!key) {
      const hint = parts.keyId === DEV_KEY_ID ? ' (it was sealed with the development key; enter the secret again)' : '';
      throw new SecretError('unknown_key', `secret was sealed with key "${parts.keyId}", which is not in SECRETS_KEY${hint}`);
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, key, parts.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(parts.keyId));
      decipher.setAuthTag(parts.tag);
      return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      // The crypto error carries nothing useful and must not leak details; say what it means.
      throw new SecretError(
        'tampered',
        `secret sealed with key "${parts.keyId}" failed authentication: it was modified or the key with that id is not the one that sealed it`,
      );
    }
  }

  /** True when the value is not sealed with the current key (re-seal it: `seal(open(v))`). */
  needsRotation(sealed: string): boolean {
    return parse(sealed).keyId !== this.current.id;
  }
}

function aad(keyId: string): Buffer {
  return Buffer.from(`${SEALED_VERSION}.${keyId}`, 'utf8');
}

function b64(buf: Buffer): string {
  return buf.toString('base64url');
}

function parse(sealed: string): SealedParts {
  if (typeof sealed !== 'string') throw new SecretError('malformed', 'sealed secret must be a string');
  const parts = sealed.split('.');
  if (parts.length !== 5) throw new SecretError('malformed', 'sealed secret is malformed: expected 5 dot-separated parts');
  const [version, keyId, iv, tag, ciphertext] = parts;
  if (version !== SEALED_VERSION) {
    throw new SecretError('unsupported_version', `sealed secret has unsupported format version (expected "${SEALED_VERSION}")`);
  }
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(keyId)) throw new SecretError('malformed', 'sealed secret is malformed: bad key id');
  return {
    keyId,
    iv: decodePart(iv, 'iv', IV_BYTES),
    tag: decodePart(tag, 'tag', TAG_BYTES),
    ciphertext: decodePart(ciphertext, 'ciphertext'),
  };
}

function decodePart(text: string, name: string, length?: number): Buffer {
  const buf = B64URL.test(text) ? Buffer.from(text, 'base64url') : undefined;
  // Re-encoding must give the same text: Node ignores unused trailing bits, and a modified
  // character that decodes to the same bytes must still count as tampering.
  if (!buf || buf.toString('base64url') !== text || (length !== undefined && buf.length !== length)) {
    throw new SecretError('malformed', `sealed secret is malformed: bad ${name}`);
  }
  return buf;
}

import { createHash, randomBytes } from 'node:crypto';

/** One AES-256 key and the id it is filed under in sealed strings. */
export interface SecretKey {
  readonly id: string;
  readonly key: Buffer;
}

export const KEY_BYTES = 32;
/** Id a single key without an explicit id gets. */
export const DEFAULT_KEY_ID = 'k1';
/** Id of the development key; a production ring should never contain it. */
export const DEV_KEY_ID = 'dev';

// Ids end up inside the dot-separated sealed format, so they must not contain '.', ',' or ':'.
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}={0,1}$/;

// Public on purpose: the dev key protects nothing, it only keeps dev data in the sealed format.
const DEV_KEY_MATERIAL = 'pbx-backup development key: NOT FOR PRODUCTION, set SECRETS_KEY';

export class KeyRingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRingError';
  }
}

/**
 * Parses a SECRETS_KEY value: one key (64 hex chars or base64 of 32 bytes, id "k1"), or
 * `id:key,id:key` where the first entry is the current key. Errors name the entry's position,
 * never the key material.
 */
export function parseKeyRing(value: string): SecretKey[] {
  const entries = value.split(',').map((e) => e.trim());
  if (entries.length === 0 || entries.every((e) => e === '')) {
    throw new KeyRingError('SECRETS_KEY is empty');
  }
  const keys: SecretKey[] = [];
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon < 0 && entries.length > 1) {
      throw new KeyRingError(`SECRETS_KEY entry ${index + 1}: a ring of several keys needs "id:key" entries`);
    }
    const id = colon < 0 ? DEFAULT_KEY_ID : entry.slice(0, colon);
    const material = colon < 0 ? entry : entry.slice(colon + 1);
    if (!KEY_ID.test(id)) {
      throw new KeyRingError(`SECRETS_KEY entry ${index + 1}: key id must be 1-32 characters of A-Z a-z 0-9 _ -`);
    }
    if (keys.some((k) => k.id === id)) {
      throw new KeyRingError(`SECRETS_KEY entry ${index + 1}: key id "${id}" is used twice`);
    }
    keys.push({ id, key: decodeKey(material, index + 1) });
  });
  return keys;
}

function decodeKey(material: string, position: number): Buffer {
  if (HEX_KEY.test(material)) return Buffer.from(material, 'hex');
  if (BASE64_KEY.test(material)) {
    const key = Buffer.from(material.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new KeyRingError(`SECRETS_KEY entry ${position}: key must be 64 hex characters or base64 of 32 bytes`);
}

/** A fresh random key as 64 hex characters, ready to be put into SECRETS_KEY. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('hex');
}

/** The deterministic development key (id "dev"). */
export function devKey(): SecretKey {
  return { id: DEV_KEY_ID, key: createHash('sha256').update(DEV_KEY_MATERIAL).digest() };
}

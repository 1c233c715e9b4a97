import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { DEV_KEY_ID, KeyRingError, generateKey, parseKeyRing } from './key-ring';
import { SecretBox, SecretError } from './secret-box';

const HEX_A = 'a'.repeat(64);
const HEX_B = '0123456789abcdef'.repeat(4);
const B64_C = randomBytes(32).toString('base64');

function expectSecretError(fn: () => unknown, reason: SecretError['reason'], mustNotContain: string[] = []): SecretError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SecretError);
  const err = caught as SecretError;
  expect(err.reason).toBe(reason);
  for (const s of mustNotContain) expect(err.message).not.toContain(s);
  return err;
}

/** Replaces the character at `index` of `text` with a different base64url character. */
function flipChar(text: string, index: number): string {
  const c = text[index];
  const replacement = c === 'A' ? 'B' : 'A';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe('parseKeyRing', () => {
  it('accepts one hex key as id k1', () => {
    const [k] = parseKeyRing(HEX_A);
    expect(k.id).toBe('k1');
    expect(k.key).toEqual(Buffer.from(HEX_A, 'hex'));
  });

  it('accepts base64 (padded or not) and base64url keys', () => {
    const raw = randomBytes(32);
    expect(parseKeyRing(raw.toString('base64'))[0].key).toEqual(raw);
    expect(parseKeyRing(raw.toString('base64').replace(/=+$/, ''))[0].key).toEqual(raw);
    expect(parseKeyRing(raw.toString('base64url'))[0].key).toEqual(raw);
  });

  it('parses id:key rings in order, first is current', () => {
    const ring = parseKeyRing(`new:${HEX_B}, old:${HEX_A},older:${B64_C}`);
    expect(ring.map((k) => k.id)).toEqual(['new', 'old', 'older']);
  });

  it.each([
    ['empty', ''],
    ['short hex', 'ab'.repeat(31)],
    ['16-byte base64', randomBytes(16).toString('base64')],
    ['several keys without ids', `${HEX_A},${HEX_B}`],
    ['bad id', `a.b:${HEX_A}`],
    ['duplicate ids', `x:${HEX_A},x:${HEX_B}`],
  ])('refuses %s without echoing key material', (_label, value) => {
    let caught: unknown;
    try {
      parseKeyRing(value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(KeyRingError);
    expect((caught as Error).message).not.toContain(HEX_A);
    expect((caught as Error).message).not.toContain(HEX_B);
  });

  it('generateKey gives a fresh key the ring accepts', () => {
    const a = generateKey();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(generateKey()).not.toBe(a);
    expect(parseKeyRing(a)).toHaveLength(1);
    expect(SecretBox.generateKey()).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('SecretBox', () => {
  it('round-trips strings, including empty and non-ASCII', () => {
    const box = new SecretBox(HEX_A);
    for (const text of ['', 'p@ssw0rd', 'Grüße, 🔑 ключ', '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n']) {
      expect(box.open(box.seal(text))).toBe(text);
    }
  });

  it('round-trips arbitrary strings (property)', () => {
    const box = new SecretBox(HEX_A);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => box.open(box.seal(text)) === text),
      { numRuns: 300 },
    );
  });

  it('writes the compact versioned format with a random IV', () => {
    const box = new SecretBox(`cur:${HEX_B}`);
    const a = box.seal('same');
    const b = box.seal('same');
    expect(a).toMatch(/^v1\.cur\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    expect(SecretBox.isSealed(a)).toBe(true);
    expect(SecretBox.isSealed('plain password')).toBe(false);
  });

  it('never contains the plaintext in any encoding', () => {
    const box = new SecretBox(HEX_A);
    const secret = 'correct horse battery staple';
    const sealed = box.seal(secret);
    expect(sealed).not.toContain(secret);
    for (const enc of ['base64', 'base64url', 'hex'] as const) {
      expect(sealed).not.toContain(Buffer.from(secret).toString(enc).slice(0, 12));
    }
  });

  it('rotates: old keys still open, new seals use the current key', () => {
    const oldBox = new SecretBox(`old:${HEX_A}`);
    const sealedOld = oldBox.seal('legacy secret');
    const rotated = new SecretBox(`new:${HEX_B},old:${HEX_A}`);

    expect(rotated.currentKeyId).toBe('new');
    expect(rotated.keyIds).toEqual(['new', 'old']);
    expect(rotated.open(sealedOld)).toBe('legacy secret');
    expect(rotated.needsRotation(sealedOld)).toBe(true);

    const resealed = rotated.seal(rotated.open(sealedOld));
    expect(resealed.split('.')[1]).toBe('new');
    expect(rotated.needsRotation(resealed)).toBe(false);
    // After the old key is dropped from the ring the re-sealed value still opens.
    expect(new SecretBox(`new:${HEX_B}`).open(resealed)).toBe('legacy secret');
  });

  it('a single key has id k1', () => {
    const box = new SecretBox(HEX_A);
    expect(box.currentKeyId).toBe('k1');
    expect(box.seal('x').split('.')[1]).toBe('k1');
  });

  it('refuses an unknown key id with a clear message', () => {
    const sealed = new SecretBox(`gone:${HEX_A}`).seal('top secret');
    const err = expectSecretError(() => new SecretBox(`cur:${HEX_B}`).open(sealed), 'unknown_key', ['top secret', HEX_A, HEX_B]);
    expect(err.message).toContain('"gone"');
  });

  it('refuses a value sealed under the same id with a different key', () => {
    const sealed = new SecretBox(`k:${HEX_A}`).seal('top secret');
    expectSecretError(() => new SecretBox(`k:${HEX_B}`).open(sealed), 'tampered', ['top secret', HEX_A, HEX_B]);
  });

  it('refuses a value whose key id was relabelled to another key in the ring (AAD binds the id)', () => {
    const box = new SecretBox(`a:${HEX_A},b:${HEX_A}`); // same key material, different ids
    const sealed = box.seal('top secret');
    const relabelled = sealed.replace(/^v1\.a\./, 'v1.b.');
    expect(relabelled).not.toBe(sealed);
    expectSecretError(() => box.open(relabelled), 'tampered', ['top secret']);
  });

  describe('tamper detection: changing any character of any part is refused', () => {
    const box = new SecretBox(`cur:${HEX_A},other:${HEX_B}`);
    const secret = 'tamper-me-secret';
    const sealed = box.seal(secret);
    const parts = sealed.split('.');
    const names = ['version', 'keyId', 'iv', 'tag', 'ciphertext'];

    it.each(names.map((name, i) => [name, i] as const))('part %s', (_name, partIndex) => {
      const part = parts[partIndex];
      for (let i = 0; i < part.length; i++) {
        const changed = [...parts];
        changed[partIndex] = flipChar(part, i);
        const tampered = changed.join('.');
        let caught: unknown;
        try {
          box.open(tampered);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(SecretError);
        expect((caught as Error).message).not.toContain(secret);
        expect((caught as Error).message).not.toContain(HEX_A);
      }
    });

    it('flipping a bit in any byte of the ciphertext, tag or IV is refused', () => {
      for (const partIndex of [2, 3, 4]) {
        const bytes = Buffer.from(parts[partIndex], 'base64url');
        for (let i = 0; i < bytes.length; i++) {
          const copy = Buffer.from(bytes);
          copy[i] ^= 0x01;
          const changed = [...parts];
          changed[partIndex] = copy.toString('base64url');
          expectSecretError(() => box.open(changed.join('.')), 'tampered', [secret]);
        }
      }
    });

    it('truncated or extended values are refused', () => {
      expectSecretError(() => box.open(sealed.slice(0, -1)), 'malformed'); // not canonical base64url
      expectSecretError(() => box.open(sealed.slice(0, -2)), 'tampered'); // one byte shorter
      expectSecretError(() => box.open(`${sealed}AA`), 'tampered');
      expectSecretError(() => box.open(`${sealed}.x`), 'malformed');
      expectSecretError(() => box.open('v2' + sealed.slice(2)), 'unsupported_version');
      expectSecretError(() => box.open('not sealed at all'), 'malformed');
    });
  });

  describe('fromKeyRingOrDevKey', () => {
    it('uses SECRETS_KEY when set and does not warn', () => {
      const onDevKey = jest.fn();
      const box = SecretBox.fromKeyRingOrDevKey(`prod:${HEX_A}`, { onDevKey });
      expect(box.currentKeyId).toBe('prod');
      expect(onDevKey).not.toHaveBeenCalled();
    });

    it.each([undefined, '', '   '])('falls back to the deterministic dev key for %p and warns', (value) => {
      const onDevKey = jest.fn();
      const box = SecretBox.fromKeyRingOrDevKey(value, { onDevKey });
      expect(onDevKey).toHaveBeenCalledTimes(1);
      expect(onDevKey.mock.calls[0][0].message).toMatch(/SECRETS_KEY/);
      expect(box.currentKeyId).toBe(DEV_KEY_ID);
      // Deterministic: another process with no SECRETS_KEY opens the same values.
      expect(SecretBox.fromKeyRingOrDevKey(undefined).open(box.seal('dev secret'))).toBe('dev secret');
    });

    it('a production ring does not open dev-sealed values and says why', () => {
      const devSealed = SecretBox.fromKeyRingOrDevKey(undefined).seal('dev secret');
      const err = expectSecretError(() => new SecretBox(HEX_A).open(devSealed), 'unknown_key', ['dev secret']);
      expect(err.message).toMatch(/development key/);
    });

    it('refuses an invalid SECRETS_KEY instead of silently using the dev key', () => {
      expect(() => SecretBox.fromKeyRingOrDevKey('too-short')).toThrow(KeyRingError);
    });
  });
});

import { randomBytes, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Decrypter, Encrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { AgeEncryptor, AgeFormatError, AgePayloadDecryptor, fileKeyOf, parseHeader, PAYLOAD_CHUNK, scryptUnwrapper, x25519Unwrapper, identityKey } from './age-native';

// Our native age against age-encryption (the TypeScript port by age's author), both ways.
// Byte-for-byte interop with the `age` CLI is age-file.spec.ts.

const KIB64 = PAYLOAD_CHUNK;
/** Sizes around the STREAM chunk boundaries, and a few random ones of many chunks. */
const SIZES = [0, 1, KIB64 - 1, KIB64, KIB64 + 1, 2 * KIB64, 3 * KIB64 + 17, ...Array.from({ length: 4 }, () => randomInt(1, 40 * KIB64))];
/** Low scrypt cost for the size sweep (the default 18 is checked once below). */
const FAST_SCRYPT = 10;

/** Feeds `plain` to `encryptor` in random-sized pieces (the writer's chunks are not aligned to 64 KiB). */
function encryptInPieces(encryptor: AgeEncryptor, plain: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < plain.length; ) {
    const n = Math.min(plain.length - at, randomInt(1, 3 * KIB64));
    out.push(...encryptor.update(plain.subarray(at, at + n)));
    at += n;
  }
  out.push(...encryptor.final());
  return Buffer.concat(out);
}

/** Our decryption of a whole file in memory, the payload fed in random-sized pieces. */
async function ourDecrypt(file: Buffer, key: { identity: string } | { passphrase: string }): Promise<Buffer> {
  const header = parseHeader(file);
  if (!header) throw new Error('incomplete header');
  const unwrap = 'passphrase' in key ? scryptUnwrapper(key.passphrase) : x25519Unwrapper(identityKey(key.identity)!);
  const fileKey = await fileKeyOf(header, [unwrap]);
  const payload = file.subarray(header.length);
  const pieces: Buffer[] = [];
  for (let at = 0; at < payload.length; ) {
    const n = Math.min(payload.length - at, randomInt(1, 3 * KIB64));
    pieces.push(payload.subarray(at, at + n));
    at += n;
  }
  return buffer(Readable.from(pieces).pipe(new AgePayloadDecryptor(fileKey)));
}

let identity: string;
let recipient: string;
beforeAll(async () => {
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
});

describe('ours encrypts, age-encryption decrypts', () => {
  it.each(SIZES)('recipients, %i bytes', async (size) => {
    const plain = randomBytes(size);
    const other = await generateIdentity();
    const file = encryptInPieces(await AgeEncryptor.create({ recipients: [await identityToRecipient(other), recipient] }), plain);
    for (const id of [identity, other]) {
      const theirs = new Decrypter();
      theirs.addIdentity(id);
      expect(Buffer.from(await theirs.decrypt(file)).equals(plain)).toBe(true);
    }
    // The size is the spec's: header, 16-byte nonce, every chunk + 16, one (empty) chunk for an empty file.
    const header = parseHeader(file)!;
    expect(file.length).toBe(header.length + 16 + size + 16 * Math.max(1, Math.ceil(size / KIB64)));
  });

  it.each(SIZES.slice(0, 6))('passphrase, %i bytes', async (size) => {
    const plain = randomBytes(size);
    const file = encryptInPieces(await AgeEncryptor.create({ passphrase: 'pass phrase', workFactor: FAST_SCRYPT }), plain);
    const theirs = new Decrypter();
    theirs.addPassphrase('pass phrase');
    expect(Buffer.from(await theirs.decrypt(file)).equals(plain)).toBe(true);
  });

  it('passphrase at the default work factor (2^18), refused by a wrong passphrase', async () => {
    const file = encryptInPieces(await AgeEncryptor.create({ passphrase: 'right' }), Buffer.from('payload'));
    expect(file.toString('latin1')).toMatch(/\n-> scrypt [A-Za-z0-9+/]{22} 18\n/);
    const wrong = new Decrypter();
    wrong.addPassphrase('wrong');
    await expect(wrong.decrypt(file)).rejects.toThrow();
    const right = new Decrypter();
    right.addPassphrase('right');
    expect(Buffer.from(await right.decrypt(file)).toString()).toBe('payload');
  });
});

describe('age-encryption encrypts, ours decrypts', () => {
  it.each(SIZES)('recipients, %i bytes', async (size) => {
    const plain = randomBytes(size);
    const theirs = new Encrypter();
    theirs.addRecipient(recipient);
    const file = Buffer.from(await theirs.encrypt(plain));
    expect((await ourDecrypt(file, { identity })).equals(plain)).toBe(true);
  });

  it.each(SIZES.slice(0, 6))('passphrase, %i bytes', async (size) => {
    const plain = randomBytes(size);
    const theirs = new Encrypter();
    theirs.setPassphrase('pass phrase');
    theirs.setScryptWorkFactor(FAST_SCRYPT);
    const file = Buffer.from(await theirs.encrypt(plain));
    expect((await ourDecrypt(file, { passphrase: 'pass phrase' })).equals(plain)).toBe(true);
  });
});

describe('what ours refuses', () => {
  let plain: Buffer;
  let file: Buffer;
  let headerLength: number;
  beforeAll(async () => {
    plain = randomBytes(3 * KIB64 + 100);
    file = encryptInPieces(await AgeEncryptor.create({ recipients: [recipient] }), plain);
    headerLength = parseHeader(file)!.length;
  });
  const sealed = KIB64 + 16;

  it('a wrong identity or passphrase: a key error', async () => {
    const err = await ourDecrypt(file, { identity: await generateIdentity() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgeFormatError);
    expect((err as AgeFormatError).kind).toBe('key');
    await expect(ourDecrypt(file, { passphrase: 'x' })).rejects.toMatchObject({ kind: 'key' });
  });

  it('an altered header: the MAC does not match', async () => {
    const altered = Buffer.from(file);
    // Swap the stanza's wrapped key for one wrapped for the same recipient by another file: it unwraps, the MAC fails.
    const other = encryptInPieces(await AgeEncryptor.create({ recipients: [recipient] }), Buffer.alloc(0));
    const stanzaOf = (f: Buffer) => f.toString('latin1').split('\n').slice(1, 3).join('\n');
    const swapped = Buffer.from(altered.toString('latin1').replace(stanzaOf(file), stanzaOf(other)), 'latin1');
    await expect(ourDecrypt(swapped, { identity })).rejects.toThrow(/MAC/);
  });

  it.each([
    ['a flipped payload byte', (f: Buffer) => Buffer.concat([f.subarray(0, f.length - 500), Buffer.from([f[f.length - 500] ^ 1]), f.subarray(f.length - 499)])],
    ['cut one byte short', (f: Buffer) => f.subarray(0, f.length - 1)],
    ['cut at a chunk boundary (the last chunk is gone)', (f: Buffer) => f.subarray(0, headerLength + 16 + 3 * sealed)],
    ['cut inside the nonce', (f: Buffer) => f.subarray(0, headerLength + 8)],
    ['a byte appended', (f: Buffer) => Buffer.concat([f, Buffer.from([0])])],
    ['two chunks swapped', (f: Buffer) => {
      const start = headerLength + 16;
      return Buffer.concat([f.subarray(0, start), f.subarray(start + sealed, start + 2 * sealed), f.subarray(start, start + sealed), f.subarray(start + 2 * sealed)]);
    }],
  ])('%s', async (_name, damage) => {
    await expect(ourDecrypt(damage(file), { identity })).rejects.toBeInstanceOf(AgeFormatError);
  });

  it('an empty last chunk after full ones (the spec forbids it; a full last chunk carries the flag)', async () => {
    const exact = encryptInPieces(await AgeEncryptor.create({ recipients: [recipient] }), randomBytes(2 * KIB64));
    const h = parseHeader(exact)!.length;
    expect(exact.length).toBe(h + 16 + 2 * sealed); // no empty chunk written
    // A file with an extra empty, flagged chunk cannot be forged without the key; a bare 16-byte tail is refused anyway.
    await expect(ourDecrypt(Buffer.concat([exact, randomBytes(16)]), { identity })).rejects.toBeInstanceOf(AgeFormatError);
  });
});

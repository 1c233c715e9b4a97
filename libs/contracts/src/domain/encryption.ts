import { z } from 'zod';
import { mustBe, oneOfText } from './fields';

/**
 * Encryption of a configuration's archives: age v1 (age-encryption.org/v1), so an admin can
 * always decrypt with the stock `age` tool. `recipients`: the service holds public keys only
 * (recommended); `passphrase`: a secret sealed at rest like destination secrets, never returned.
 */

export const ENCRYPTION_MODES = ['none', 'recipients', 'passphrase'] as const;
export type EncryptionMode = (typeof ENCRYPTION_MODES)[number];

export const MAX_RECIPIENTS = 20;
/** age derives the key with scrypt, but a short passphrase still falls to guessing offline. */
export const PASSPHRASE_MIN_LENGTH = 12;
export const PASSPHRASE_MAX_LENGTH = 1024;

/** What is stored in clear and shown: the mode and the public keys, never the passphrase. */
export type EncryptionSettings = { mode: 'none' } | { mode: 'recipients'; recipients: string[] } | { mode: 'passphrase' };
export const NO_ENCRYPTION: EncryptionSettings = { mode: 'none' };

// ---------------------------------------------------------------------------------------------
// age X25519 recipients: Bech32 (BIP 173, not Bech32m) with the prefix "age" and a 32-byte key,
// i.e. "age1" + 58 lowercase characters, exactly as `age-keygen` prints it.

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATORS[i];
  }
  return chk;
}

/** The payload bytes of a valid Bech32 string with prefix `hrp`, else undefined (also decodes age secret keys in libs/encryption). */
export function bech32Bytes(text: string, hrp: string): number[] | undefined {
  const sep = text.lastIndexOf('1');
  if (text.slice(0, sep) !== hrp || text.length - sep - 1 < 6) return undefined;
  const words: number[] = [];
  for (const ch of text.slice(sep + 1)) {
    const w = BECH32_CHARSET.indexOf(ch);
    if (w < 0) return undefined;
    words.push(w);
  }
  const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  if (polymod([...expanded, ...words]) !== 1) return undefined;
  // 5-bit words to bytes; leftover bits must be zero padding of less than 5 bits.
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const w of words.slice(0, -6)) {
    acc = (acc << 5) | w;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) return undefined;
  return bytes;
}

/** age-keygen's key file shows `# public key: age1…` (and prints `Public key: age1…`): either line, or the bare key. */
const PUBLIC_KEY_LINE = /^#?\s*public key:\s*/i;

/** The recipient as stored: the bare key, without the "# public key:" label and edge spaces. */
export function normalizeAgeRecipient(text: string): string {
  return text.trim().replace(PUBLIC_KEY_LINE, '').trim();
}

/** What is wrong with a (normalized) age recipient; undefined when the stock `age` tool accepts it. */
export function ageRecipientProblem(key: string): string | undefined {
  if (/AGE-SECRET-KEY-/i.test(key)) {
    return 'is a SECRET key (AGE-SECRET-KEY-…) and was not stored: give its public key instead (the "# public key: age1…" line of the key file, or the output of age-keygen -y key.txt); keep the secret key offline';
  }
  if (/^(ssh-|ecdsa-|sk-)/.test(key)) return 'is an SSH key: generate an age key with age-keygen and give its public key (age1…)';
  if (key.startsWith('age1pq1') || key.startsWith('age1tag')) {
    return 'is a post-quantum or tag recipient, which the age 1.1 command line tool cannot decrypt: use an X25519 key (age-keygen without -pq)';
  }
  if (key.startsWith('age1') && /[A-Z]/.test(key)) return 'must be lowercase, as age-keygen prints it';
  if (!key.startsWith('age1')) return 'must be an age public key (age1…, as age-keygen prints it)';
  const bytes = bech32Bytes(key, 'age');
  if (bytes === undefined) return 'is not a valid age public key: a character was mistyped, lost or added (copy the age1… line again)';
  if (bytes.length !== 32) return 'is not an X25519 age public key (age1… of 62 characters, as age-keygen prints it)';
  return undefined;
}

const recipientSchema = z
  .string({ error: mustBe('an age public key (age1…)') })
  .overwrite(normalizeAgeRecipient)
  .superRefine((v, ctx) => {
    const problem = ageRecipientProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: 'An age X25519 public key (`age1…`), or the `# public key: age1…` line of an age-keygen key file; stored as the bare key.' });

const recipientListSchema = z
  .array(recipientSchema, { error: mustBe('a list of age public keys (age1…)') })
  .min(1, { error: 'must contain at least one age public key (age1…)' })
  .max(MAX_RECIPIENTS, { error: `must contain at most ${MAX_RECIPIENTS} keys` })
  .superRefine((list, ctx) => {
    list.forEach((key, i) => {
      const first = list.indexOf(key);
      if (first < i) ctx.addIssue({ code: 'custom', path: [i], message: `is the same key as recipients[${first}]` });
    });
  });

const passphraseSchema = z
  .string({ error: mustBe('a string') })
  .superRefine((v, ctx) => {
    const problems: string[] = [];
    if (v.length < PASSPHRASE_MIN_LENGTH) problems.push(`must be at least ${PASSPHRASE_MIN_LENGTH} characters (age -d asks for it; prefer several random words)`);
    if (v.length > PASSPHRASE_MAX_LENGTH) problems.push(`must be at most ${PASSPHRASE_MAX_LENGTH} characters`);
    // age -d reads it from the terminal: a control character (a line break) could never be typed there.
    if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) problems.push('must not contain control characters or line breaks (age -d reads it from one terminal line)');
    if (v.trim() !== v) problems.push('must not start or end with spaces');
    for (const message of problems) ctx.addIssue({ code: 'custom', message });
  })
  .meta({
    writeOnly: true,
    description: 'Write-only: stored sealed, never returned (responses show hasPassphrase: true). On PATCH, omit it to keep the stored passphrase.',
  });

const modeError = (iss: z.core.$ZodRawIssue) => {
  if (iss.code === 'invalid_union') {
    const mode = (iss.input as { mode?: unknown } | undefined)?.mode;
    return mode === undefined ? `is required: ${oneOfText(ENCRYPTION_MODES)}` : `must be ${oneOfText(ENCRYPTION_MODES)}`;
  }
  return mustBe('an object like { "mode": "recipients", "recipients": ["age1…"] }')(iss);
};

const noneShape = z.strictObject({ mode: z.literal('none') });
const recipientsShape = z.strictObject({ mode: z.literal('recipients'), recipients: recipientListSchema });

/** `encryption` of a create request. */
export const encryptionSchema = z.discriminatedUnion(
  'mode',
  [noneShape, recipientsShape, z.strictObject({ mode: z.literal('passphrase'), passphrase: passphraseSchema })],
  { error: modeError },
);

/** `encryption` of a PATCH: in passphrase mode an omitted passphrase keeps the stored one. */
export const patchEncryptionSchema = z.discriminatedUnion(
  'mode',
  [noneShape, recipientsShape, z.strictObject({ mode: z.literal('passphrase'), passphrase: passphraseSchema.optional() })],
  { error: modeError },
);

export type EncryptionInput = z.output<typeof encryptionSchema> | z.output<typeof patchEncryptionSchema>;

/** The part stored in clear (the passphrase is sealed apart). */
export function encryptionSettingsOf(input: EncryptionInput): EncryptionSettings {
  if (input.mode === 'recipients') return { mode: 'recipients', recipients: [...input.recipients] };
  return { mode: input.mode };
}

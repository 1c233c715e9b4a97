import { z } from 'zod';
import { ageRecipientProblem, encryptionSchema, encryptionSettingsOf, MAX_RECIPIENTS, normalizeAgeRecipient, patchEncryptionSchema } from './encryption';

// Keys from `age-keygen` (age 1.1.1); libs/encryption/src/recipient-agreement.spec.ts checks the
// same rules against freshly generated keys and the age tool itself.
const KEY_A = 'age1mrp6dw6yfeucaep9pchjmptgnltr3l3nnmh70z4494hmaupvwvusk7q566';
const KEY_B = 'age1pa89c3lju37a5n97q5afukp7wrdkdvezqqr0zc70js6d05w5fppqdfe63k';
const SECRET_A = 'AGE-SECRET-KEY-1KQZSX6J2TURCRR4F2NYT0LA4JCDNEPTFLSXTEZ84F57T7VE9QG4QHEPYKA';
const PASSPHRASE = 'correct horse battery staple';

type Issues = { path: string; message: string }[];
const issuesOf = (schema: z.ZodType, value: unknown): Issues => {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
};

describe('age recipients', () => {
  it.each([
    [KEY_A, KEY_A],
    [`  ${KEY_A}\n`, KEY_A],
    [`# public key: ${KEY_A}`, KEY_A],
    [`Public key: ${KEY_A}`, KEY_A],
  ])('accepts %j as %s', (input, stored) => {
    expect(normalizeAgeRecipient(input)).toBe(stored);
    expect(ageRecipientProblem(normalizeAgeRecipient(input))).toBeUndefined();
  });

  it.each([
    ['a secret key', SECRET_A, /SECRET key .* was not stored/],
    ['a whole key file', `# created: 2026-12-01T01:08:12Z\n# public key: ${KEY_A}\n${SECRET_A}\n`, /SECRET key/],
    ['a mistyped character', KEY_A.replace('mrp6', 'mrp7'), /mistyped, lost or added/],
    ['a lost character', KEY_A.slice(0, -1), /mistyped, lost or added/],
    ['an added character', `${KEY_A}q`, /mistyped, lost or added/],
    ['upper case', KEY_A.toUpperCase(), /age public key/],
    ['mixed case', `age1${KEY_A.slice(4).toUpperCase()}`, /lowercase/],
    ['an SSH key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB admin@host', /SSH key/],
    ['a post-quantum recipient', 'age1pq1' + 'q'.repeat(60), /post-quantum/],
    ['a Bech32 string of the wrong length', 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgp7xhjq0', /not an X25519 age public key|mistyped/],
    ['something else', 'alice@example.com', /must be an age public key/],
  ])('refuses %s, clearly and without repeating it', (_name, input, message) => {
    const problem = ageRecipientProblem(normalizeAgeRecipient(input));
    expect(problem).toMatch(message);
    expect(problem).not.toContain(input.trim());
  });
});

describe('encryptionSchema', () => {
  it('accepts the three modes; the public keys are stored bare, the passphrase never in the settings', () => {
    expect(encryptionSchema.parse({ mode: 'none' })).toEqual({ mode: 'none' });
    expect(encryptionSchema.parse({ mode: 'recipients', recipients: [`# public key: ${KEY_A}`, KEY_B] })).toEqual({ mode: 'recipients', recipients: [KEY_A, KEY_B] });
    const withPassphrase = encryptionSchema.parse({ mode: 'passphrase', passphrase: PASSPHRASE });
    expect(encryptionSettingsOf(withPassphrase)).toEqual({ mode: 'passphrase' });
    expect(JSON.stringify(encryptionSettingsOf(withPassphrase))).not.toContain(PASSPHRASE);
  });

  it.each([
    [{}, 'mode', /is required: one of none, recipients, passphrase/],
    [{ mode: 'gpg' }, 'mode', /must be one of none, recipients, passphrase/],
    ['age1…', '', /must be an object/],
    [{ mode: 'recipients' }, 'recipients', /required|list of age public keys/],
    [{ mode: 'recipients', recipients: [] }, 'recipients', /at least one/],
    [{ mode: 'recipients', recipients: Array.from({ length: MAX_RECIPIENTS + 1 }, () => KEY_A) }, 'recipients', new RegExp(`at most ${MAX_RECIPIENTS}`)],
    [{ mode: 'recipients', recipients: [KEY_A, `# public key: ${KEY_A}`] }, 'recipients.1', /same key as recipients\[0\]/],
    [{ mode: 'recipients', recipients: [KEY_A, SECRET_A] }, 'recipients.1', /SECRET key/],
    [{ mode: 'passphrase' }, 'passphrase', /required/],
    [{ mode: 'passphrase', passphrase: 'short one' }, 'passphrase', /at least 12 characters/],
    [{ mode: 'passphrase', passphrase: 'x'.repeat(1025) }, 'passphrase', /at most 1024/],
    [{ mode: 'passphrase', passphrase: 'two lines of\nsecret text' }, 'passphrase', /line breaks/],
    [{ mode: 'passphrase', passphrase: ` ${PASSPHRASE}` }, 'passphrase', /spaces/],
    [{ mode: 'none', recipients: [KEY_A] }, '', /recipients/],
    [{ mode: 'recipients', recipients: [KEY_A], passphrase: PASSPHRASE }, '', /passphrase/],
  ])('refuses %j at %j', (value, path, message) => {
    const issues = issuesOf(encryptionSchema, value);
    expect(issues.some((i) => i.path === path && message.test(i.message))).toBe(true);
    for (const i of issues) if (typeof (value as { passphrase?: string }).passphrase === 'string') expect(i.message).not.toContain((value as { passphrase: string }).passphrase);
  });

  it('PATCH: passphrase mode without a passphrase keeps the stored one (the service checks one is stored)', () => {
    expect(patchEncryptionSchema.parse({ mode: 'passphrase' })).toEqual({ mode: 'passphrase' });
    expect(issuesOf(patchEncryptionSchema, { mode: 'passphrase', passphrase: 'short' })[0].path).toBe('passphrase');
  });

  it('the passphrase is write-only in the JSON Schema (OpenAPI)', () => {
    const json = JSON.stringify(z.toJSONSchema(encryptionSchema, { io: 'input' }));
    expect(json).toContain('"writeOnly":true');
  });
});

import { describe, expect, it } from '@jest/globals';
import { encryptionProblem, NO_ENCRYPTION_FORM, recipientLines, toEncryption } from './encryption-state';

// age-keygen's output (age 1.1.1): the key file, and what it prints on stderr.
const PUBLIC = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const KEY_FILE = `# created: 2025-05-01T10:00:00+02:00\n# public key: ${PUBLIC}\nAGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n`;

describe('wizard encryption input', () => {
  it('takes age-keygen\'s lines as pasted: the public key line counts, other comments and blank lines do not', () => {
    expect(recipientLines(`# created: 2025-05-01\n# public key: ${PUBLIC}\n\nPublic key: ${PUBLIC}\n  ${PUBLIC}  \n`)).toEqual([`# public key: ${PUBLIC}`, `Public key: ${PUBLIC}`, PUBLIC]);
    expect(toEncryption({ ...NO_ENCRYPTION_FORM, mode: 'recipients', recipients: `# public key: ${PUBLIC}` })).toEqual({ mode: 'recipients', recipients: [`# public key: ${PUBLIC}`] });
  });

  it('never sends a pasted secret key', () => {
    expect(encryptionProblem({ ...NO_ENCRYPTION_FORM, mode: 'recipients', recipients: KEY_FILE }, false)).toEqual({ field: 'encryption.recipients', problem: 'secretKeyPasted' });
  });

  it('asks for a passphrase when creating, keeps the stored one when editing with the field empty', () => {
    const pass = { ...NO_ENCRYPTION_FORM, mode: 'passphrase' as const };
    expect(encryptionProblem(pass, false)?.problem).toBe('passphraseRequired');
    expect(encryptionProblem({ ...pass, passphrase: 'short' }, false)?.problem).toBe('passphraseShort');
    expect(encryptionProblem({ ...pass, hasStoredPassphrase: true }, true)).toBeNull();
    expect(toEncryption({ ...pass, hasStoredPassphrase: true })).toEqual({ mode: 'passphrase' });
    expect(toEncryption({ ...pass, passphrase: 'twelve chars ok' })).toEqual({ mode: 'passphrase', passphrase: 'twelve chars ok' });
  });
});

import { execFileSync } from 'node:child_process';
import { Encrypter } from 'age-encryption';
import { ageRecipientProblem, normalizeAgeRecipient } from '@pbx/contracts';

// The api's recipient check (a hand-written Bech32 decoder in libs/contracts) agrees with the
// age tool: every key age-keygen makes passes, and a key with one character changed is refused
// by both (the check and `age -r`).

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function freshKeyFile(): string {
  return execFileSync('age-keygen', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

function ageAccepts(recipient: string): boolean {
  try {
    execFileSync('age', ['-r', recipient], { input: 'x', stdio: ['pipe', 'pipe', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

describe('age recipients: the check agrees with age-keygen, age -r and age-encryption', () => {
  const keyFiles = Array.from({ length: 8 }, freshKeyFile);

  it('accepts the public key line of every generated key file, and refuses its secret key line', () => {
    for (const file of keyFiles) {
      const [publicLine] = file.split('\n').filter((l) => l.startsWith('# public key: '));
      const secretLine = file.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
      const key = normalizeAgeRecipient(publicLine);
      expect(ageRecipientProblem(key)).toBeUndefined();
      expect(() => new Encrypter().addRecipient(key)).not.toThrow();
      expect(ageRecipientProblem(normalizeAgeRecipient(secretLine))).toMatch(/SECRET key/);
    }
  });

  it('refuses a key with any one character changed, as age -r does', () => {
    const key = normalizeAgeRecipient(keyFiles[0].split('\n').find((l) => l.startsWith('# public key: '))!);
    for (const position of [4, 20, 40, key.length - 7, key.length - 1]) {
      const other = BECH32[(BECH32.indexOf(key[position]) + 1) % 32];
      const changed = key.slice(0, position) + other + key.slice(position + 1);
      expect(ageRecipientProblem(changed)).toBeDefined();
      expect(ageAccepts(changed)).toBe(false);
    }
    expect(ageAccepts(key)).toBe(true);
  });
});

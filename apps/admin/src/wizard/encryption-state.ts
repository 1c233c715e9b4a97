import type { Configuration, CreateBackupConfiguration } from '../api/client';

export type EncryptionRequest = NonNullable<CreateBackupConfiguration['encryption']>;
export type EncryptionMode = EncryptionRequest['mode'];
export const ENCRYPTION_MODES: readonly EncryptionMode[] = ['none', 'recipients', 'passphrase'];

/** The wizard's encryption input as typed: recipients one per line, the passphrase write-only. */
export interface EncryptionForm {
  mode: EncryptionMode;
  recipients: string;
  /** Never prefilled: empty while editing means "keep the stored passphrase". */
  passphrase: string;
  /** Editing: the configuration already holds a passphrase. */
  hasStoredPassphrase: boolean;
}

/** Mirrors PASSPHRASE_MIN_LENGTH of libs/contracts (the api checks again). */
export const PASSPHRASE_MIN = 12;

export const NO_ENCRYPTION_FORM: EncryptionForm = { mode: 'none', recipients: '', passphrase: '', hasStoredPassphrase: false };

export function encryptionFormOf(c: Configuration): EncryptionForm {
  const e = c.encryption;
  if (e?.mode === 'recipients') return { ...NO_ENCRYPTION_FORM, mode: 'recipients', recipients: (e.recipients ?? []).join('\n') };
  if (e?.mode === 'passphrase') return { ...NO_ENCRYPTION_FORM, mode: 'passphrase', hasStoredPassphrase: Boolean(e.hasPassphrase) };
  return NO_ENCRYPTION_FORM;
}

const SECRET_KEY = /AGE-SECRET-KEY-/i;
/** age-keygen's key file line and its stderr line: both name the public key (the api takes either). */
const PUBLIC_KEY_LINE = /^#?\s*public key:/i;

/**
 * The recipient lines to send: blank lines and age-keygen's other comments (`# created: …`)
 * dropped, so its whole output can be pasted. A secret key line is never sent (recipientProblem).
 */
export function recipientLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && (!l.startsWith('#') || PUBLIC_KEY_LINE.test(l)));
}

export type EncryptionProblem = 'recipientsRequired' | 'secretKeyPasted' | 'passphraseRequired' | 'passphraseShort';

/** What must be fixed before the request is sent; the secret key check keeps a private key off the wire. */
export function encryptionProblem(f: EncryptionForm, editing: boolean): { field: string; problem: EncryptionProblem } | null {
  if (f.mode === 'recipients') {
    if (SECRET_KEY.test(f.recipients)) return { field: 'encryption.recipients', problem: 'secretKeyPasted' };
    if (!recipientLines(f.recipients).length) return { field: 'encryption.recipients', problem: 'recipientsRequired' };
  }
  if (f.mode === 'passphrase') {
    if (!f.passphrase && !(editing && f.hasStoredPassphrase)) return { field: 'encryption.passphrase', problem: 'passphraseRequired' };
    if (f.passphrase && f.passphrase.length < PASSPHRASE_MIN) return { field: 'encryption.passphrase', problem: 'passphraseShort' };
  }
  return null;
}

/** The request's `encryption`; a passphrase only when typed (on PATCH an omitted one keeps the stored one). */
export function toEncryption(f: EncryptionForm): EncryptionRequest {
  if (f.mode === 'recipients') return { mode: 'recipients', recipients: recipientLines(f.recipients) };
  if (f.mode === 'passphrase') return (f.passphrase ? { mode: 'passphrase', passphrase: f.passphrase } : { mode: 'passphrase' }) as EncryptionRequest;
  return { mode: 'none' };
}

/** `encryption.recipients[2]` and the like all belong to the one textarea, `encryption` to the mode. */
export function encryptionFieldOf(field: string): 'encryption.recipients' | 'encryption.passphrase' | 'encryption.mode' | null {
  if (field.startsWith('encryption.recipients')) return 'encryption.recipients';
  if (field.startsWith('encryption.passphrase')) return 'encryption.passphrase';
  if (field.startsWith('encryption')) return 'encryption.mode';
  return null;
}

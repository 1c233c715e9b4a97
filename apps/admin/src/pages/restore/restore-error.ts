/**
 * What a failed restore's `error` means for the page: the packer records the engine's message
 * (libs/restore, libs/encryption), so the kind is read from the wording those libraries use.
 * decryptFailed belongs beside the key field, otherPbx beside "allow another PBX", a damaged
 * archive names its entry.
 */
export type RestoreErrorKind = 'decryptFailed' | 'otherPbx' | 'damaged' | 'sectionNotInArchive' | 'modeNotAllowed' | 'other';

export interface RestoreErrorInfo {
  kind: RestoreErrorKind;
  /** damaged: the entry the check named (e.g. voicemail/1004/vm-0000007.wav). */
  entry?: string;
  message: string;
}

export function restoreErrorOf(message: string): RestoreErrorInfo {
  if (/could not be decrypted/i.test(message)) return { kind: 'decryptFailed', message };
  if (/allowOtherPbx/.test(message)) return { kind: 'otherPbx', message };
  const entry = /\(entry ([^)]+)\)\s*$/.exec(message);
  if (entry) return { kind: 'damaged', entry: entry[1], message };
  if (/does not hold|nothing to restore/i.test(message)) return { kind: 'sectionNotInArchive', message };
  if (/can only be replaced|use merge|no restore mode/i.test(message)) return { kind: 'modeNotAllowed', message };
  return { kind: 'other', message };
}

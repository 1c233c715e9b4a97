/**
 * The name a `.sar` gets at its destinations: the configuration name, the UTC time and the
 * first 8 hex digits of the run id, e.g. `Nightly full_20261201-013000_3f2a9c1e.sar`, and
 * `….sar.age` when the configuration encrypts its archives (age v1, docs/encryption.md).
 * Names sort by time; the run id keeps two runs of one configuration in the same second
 * from writing (and replacing) the same file. Files of earlier versions lack the id part.
 */
export function artifactFileName(configurationName: string, at: Date, runId: string, encrypted = false): string {
  const iso = at.toISOString(); // 2026-12-01T01:30:00.000Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
  return `${configurationName}_${stamp}_${runIdPrefix(runId)}${encrypted ? ENCRYPTED_ARCHIVE_EXTENSION : ARCHIVE_EXTENSION}`;
}

export const ARCHIVE_EXTENSION = '.sar';
export const ENCRYPTED_ARCHIVE_EXTENSION = '.sar.age';

/** Whether an archive's file name says it is age-encrypted. */
export function isEncryptedArchiveName(fileName: string): boolean {
  return fileName.endsWith(ENCRYPTED_ARCHIVE_EXTENSION);
}

/**
 * The packed archive's file in ARTIFACT_DIR: `<run id>.sar`, or `<run id>.sar.age` when it is
 * encrypted (the plain `.sar` of an encrypted run is deleted as soon as it is encrypted).
 */
export function stagedArtifactName(runId: string, encrypted: boolean): string {
  return `${runId}${encrypted ? ENCRYPTED_ARCHIVE_EXTENSION : ARCHIVE_EXTENSION}`;
}

/** The staged file of a run whose archive got `artifactFileName` (null: not packed, plain). */
export function stagedArtifactOf(runId: string, artifactFileName: string | null): string {
  return stagedArtifactName(runId, artifactFileName !== null && isEncryptedArchiveName(artifactFileName));
}

function runIdPrefix(runId: string): string {
  const hex = runId.replace(/-/g, '').slice(0, 8).toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(hex)) throw new Error(`run id ${JSON.stringify(runId)} is not a UUID`);
  return hex;
}

/** A destination's stored copy fetched for a restore, relative to ARTIFACT_DIR (dispatcher writes, packer reads and removes). */
export function fetchedArchiveOf(restoreId: string): string {
  return `restores/${restoreId}.fetched`;
}

/**
 * A finished upload's key in the artifact store (the api puts it there, the packer reads it):
 * `uploads/<id>.sar`, or `uploads/<id>.sar.age` when its bytes are age-encrypted.
 */
export function uploadedArchiveOf(uploadId: string, encrypted: boolean): string {
  return `uploads/${uploadId}${encrypted ? ENCRYPTED_ARCHIVE_EXTENSION : ARCHIVE_EXTENSION}`;
}

/** The keys an upload's archive may have, for who knows only its id (the restore, the expiry). */
export function uploadedArchiveKeys(uploadId: string): [string, string] {
  return [uploadedArchiveOf(uploadId, false), uploadedArchiveOf(uploadId, true)];
}

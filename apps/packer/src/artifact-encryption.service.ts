import { Inject, Injectable } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { ARTIFACT_STORE, type ArtifactStore } from '@pbx/artifacts';
import { NO_ENCRYPTION, type EncryptionSettings } from '@pbx/contracts';
import { stagedArtifactName } from '@pbx/destinations';
import { encryptFile, type EncryptionKey } from '@pbx/encryption';
import type { ConfigurationRun } from '@pbx/persistence';
import { SecretError, type SecretBox } from '@pbx/secrets';
import { SECRET_BOX } from './packer.tokens';
import { RunStateRepository } from './run-state.repository';

/** The archive as it is staged for delivery and download. */
export interface StagedArtifact {
  size: number;
  sha256: string;
  encrypted: boolean;
}

/**
 * The step after packing: the packed `.sar` becomes the run's artifact in the artifact store
 * (fs: renamed within ARTIFACT_DIR; s3: uploaded multipart, the local file deleted), as is
 * (`<run>.sar`), or age-encrypted for the run's snapshot (`<run>.sar.age`, docs/encryption.md).
 * An encrypted run's plain archive is deleted as soon as it is encrypted, and on any failure:
 * it is never staged, delivered or downloadable.
 */
@Injectable()
export class ArtifactEncryption {
  constructor(
    private readonly runs: RunStateRepository,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {}

  /** `packedPath` is the writer's output with its size and SHA-256. */
  async stage(run: ConfigurationRun, packedPath: string, packed: { size: number; sha256: string }, signal: AbortSignal): Promise<StagedArtifact> {
    const encryption = run.snapshot.encryption ?? NO_ENCRYPTION;
    if (encryption.mode === 'none') {
      try {
        await this.store.put(stagedArtifactName(run.id, false), packedPath, { signal });
      } finally {
        await rm(packedPath, { force: true });
      }
      return { ...packed, encrypted: false };
    }
    // Encrypted beside the packed file (the packer's local ARTIFACT_DIR), then put into the store.
    const partial = `${packedPath}.age.partial`;
    try {
      const encrypted = await encryptFile(packedPath, partial, await this.keyOf(run, encryption), { signal });
      await this.store.put(stagedArtifactName(run.id, true), partial, { signal });
      return { ...encrypted, encrypted: true };
    } finally {
      await rm(partial, { force: true });
      await rm(packedPath, { force: true });
    }
  }

  /** Removes a staged artifact nobody will deliver (its run was cancelled while it was staged). */
  async discard(runId: string, encrypted: boolean): Promise<void> {
    await this.store.remove(stagedArtifactName(runId, encrypted));
  }

  private async keyOf(run: ConfigurationRun, encryption: Exclude<EncryptionSettings, { mode: 'none' }>): Promise<EncryptionKey> {
    if (encryption.mode === 'recipients') return { recipients: encryption.recipients };
    // Read at packing time, like destination secrets at delivery: the snapshot holds no secret.
    const sealed = await this.runs.sealedEncryptionPassphrase(run.configurationId);
    if (sealed === null) throw new Error('the configuration no longer holds its encryption passphrase (its encryption was changed or it was deleted); nothing is packed in the clear instead');
    try {
      return { passphrase: this.box.open(sealed) };
    } catch (err) {
      if (err instanceof SecretError) throw new Error(`the encryption passphrase cannot be unsealed (${err.message})`);
      throw err;
    }
  }
}

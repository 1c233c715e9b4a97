import { Inject, Injectable } from '@nestjs/common';
import { rm } from 'node:fs/promises';
import { ARTIFACT_STORE, type ArtifactStore } from '@pbx/artifacts';
import { NO_ENCRYPTION, type EncryptionSettings } from '@pbx/contracts';
import { stagedArtifactName } from '@pbx/destinations';
import { openAgeFileWriter, type EncryptionKey } from '@pbx/encryption';
import type { ConfigurationRun } from '@pbx/persistence';
import type { ArchiveSink } from '@pbx/sar';
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
 * A run's archive as the run's artifact: plain (`<run>.sar`), or age-encrypted for the run's
 * snapshot (`<run>.sar.age`, docs/encryption.md). Encryption happens inline: `sinkFor` gives the
 * writer an age file writer to write the archive into, so it is written once, encrypted, and
 * the plain archive is never on disk; its size and SHA-256 are those of the `.sar.age`. `stage` then puts the packed
 * file into the artifact store (fs: renamed within ARTIFACT_DIR; s3: uploaded multipart, the
 * local file deleted).
 */
@Injectable()
export class ArtifactEncryption {
  constructor(
    private readonly runs: RunStateRepository,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {}

  /**
   * Where the writer puts the archive: for an encrypted run an age file writer at `path` (the
   * writer's outPath), else nothing (the writer writes `path` itself). Called before packing, so
   * a passphrase that cannot be read fails the run before anything is written.
   */
  async sinkFor(run: ConfigurationRun, path: string): Promise<ArchiveSink | undefined> {
    const encryption = run.snapshot.encryption ?? NO_ENCRYPTION;
    if (encryption.mode === 'none') return undefined;
    return openAgeFileWriter(path, await this.keyOf(run, encryption));
  }

  /** `packedPath` is the writer's output (through `sinkFor`'s sink) with its size and SHA-256. */
  async stage(run: ConfigurationRun, packedPath: string, packed: { size: number; sha256: string }, signal: AbortSignal): Promise<StagedArtifact> {
    const encrypted = (run.snapshot.encryption ?? NO_ENCRYPTION).mode !== 'none';
    try {
      await this.store.put(stagedArtifactName(run.id, encrypted), packedPath, { signal });
    } finally {
      await rm(packedPath, { force: true });
    }
    return { size: packed.size, sha256: packed.sha256, encrypted };
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

import type { Readable } from 'node:stream';

/**
 * Where packed archives wait between the packer and their deliveries, downloads and restores
 * (ARTIFACT_STORE, docs/architecture.md#artifact-store). Keys are relative names such as
 * `<run id>.sar`, `<run id>.sar.age`, `restores/<id>.fetched` (libs/destinations' artifact-name.ts).
 * Every operation streams: nothing is held in memory whole.
 */
export interface ArtifactStore {
  readonly kind: 'fs' | 's3';
  /**
   * Moves a finished local file into the store under `key`; the local file is gone afterwards
   * (fs: renamed into ARTIFACT_DIR; s3: multipart upload, then deleted). A key that exists is replaced.
   */
  put(key: string, localFile: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** The stored artifact's size, or null when there is none. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Its bytes from `range.start` to `range.end` (inclusive), or all; ArtifactMissingError when absent. */
  read(key: string, range?: ByteRange, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** Deletes it; one that is already gone is not an error. */
  remove(key: string): Promise<void>;
  /**
   * Runs `fn` with a local file holding the artifact, for code that needs a path (the
   * destination adapters, the restore engine): fs: the stored file itself; s3: a copy fetched
   * into `scratchDir` by ranged GETs, deleted when `fn` settles. ArtifactMissingError when absent.
   */
  withLocalFile<T>(key: string, scratchDir: string, fn: (path: string) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
}

export interface ByteRange {
  start: number;
  end: number;
}

export class ArtifactMissingError extends Error {
  readonly code = 'ARTIFACT_MISSING';
  constructor(readonly key: string) {
    super(`the artifact ${key} is not in the artifact store (removed, or never packed)`);
    this.name = 'ArtifactMissingError';
  }
}

export function isArtifactMissing(err: unknown): err is ArtifactMissingError {
  return err instanceof ArtifactMissingError;
}

/** The Nest injection token of the app's ArtifactStore (provided by @pbx/runtime's CoreModule). */
export const ARTIFACT_STORE = Symbol('ARTIFACT_STORE');

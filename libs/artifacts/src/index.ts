import type { Readable } from 'node:stream';
import type { ArtifactStore, ByteRange } from './artifact-store';
import { FsArtifactStore } from './fs-artifact-store';
import type { S3ArtifactStoreOptions } from './s3-artifact-store';

export * from './artifact-store';
export { FsArtifactStore } from './fs-artifact-store';
export type { S3ArtifactStoreOptions } from './s3-artifact-store';
export type { S3Settings } from './s3-client';

/** What chooses and configures the store (the env's ARTIFACT_* and S3_* fields). */
export interface ArtifactStoreEnv {
  ARTIFACT_STORE: 'fs' | 's3';
  ARTIFACT_DIR: string;
  S3_ENDPOINT?: string;
  S3_REGION: string;
  S3_BUCKET?: string;
  S3_PREFIX: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
  S3_FORCE_PATH_STYLE: boolean;
}

/**
 * The app's artifact store. The s3 one loads the AWS SDK on its first use only, so the apps
 * that never touch an artifact (scheduler, notifier) and every app with `fs` stay small.
 */
export function createArtifactStore(env: ArtifactStoreEnv): ArtifactStore {
  if (env.ARTIFACT_STORE === 'fs') return new FsArtifactStore(env.ARTIFACT_DIR);
  if (!env.S3_BUCKET) throw new Error('ARTIFACT_STORE=s3 needs S3_BUCKET');
  return lazyS3Store({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    bucket: env.S3_BUCKET,
    prefix: env.S3_PREFIX,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
  });
}

export function lazyS3Store(options: S3ArtifactStoreOptions): ArtifactStore {
  let loaded: Promise<ArtifactStore> | undefined;
  const store = () => (loaded ??= import('./s3-artifact-store').then((m) => new m.S3ArtifactStore(options)));
  return {
    kind: 's3',
    put: async (key: string, localFile: string, o?: { signal?: AbortSignal }) => (await store()).put(key, localFile, o),
    stat: async (key: string) => (await store()).stat(key),
    read: async (key: string, range?: ByteRange, o?: { signal?: AbortSignal }): Promise<Readable> => (await store()).read(key, range, o),
    remove: async (key: string) => (await store()).remove(key),
    withLocalFile: async <T>(key: string, scratchDir: string, fn: (path: string) => Promise<T>, o?: { signal?: AbortSignal }) => (await store()).withLocalFile(key, scratchDir, fn, o),
  };
}

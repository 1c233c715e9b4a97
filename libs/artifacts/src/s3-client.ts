import { S3Client } from '@aws-sdk/client-s3';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';

/** How to reach one S3-compatible bucket (the artifact store's or an `s3` destination's). */
export interface S3Settings {
  /** Unset: AWS for `region`. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Unset: the SDK's default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle?: boolean;
  /** Connecting may take this long; a request may go this long without a byte moving. */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /**
   * Resolves every host name the client dials (an allowlist judges the address actually
   * connected to; virtual-hosted buckets dial `<bucket>.<endpoint host>`). Unset: the system's.
   */
  lookup?: LookupFunction;
}

/**
 * An S3 client for AWS and the S3-compatible servers (MinIO, Ceph RGW, Wasabi, s3rver).
 * Checksums only where an operation requires them: since 3.729 the SDK adds CRC32 trailers to
 * every upload by default, which several of those servers refuse; integrity is our own sha256
 * (verify after upload, read back), not the transport's.
 */
export function createS3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.forcePathStyle ?? false,
    ...(s.accessKeyId && s.secretAccessKey ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The dispatcher's own retry policy decides about waiting longer (docs/architecture.md).
    maxAttempts: 3,
    requestHandler: {
      connectionTimeout: s.connectTimeoutMs ?? 20_000,
      // Inactivity, not the whole request: smithy's requestTimeout is wall-clock (and only warns
      // unless told to throw), which would cut a slow but moving part upload.
      socketTimeout: s.idleTimeoutMs ?? 60_000,
      ...(s.lookup ? { httpAgent: new HttpAgent({ keepAlive: true, lookup: s.lookup }), httpsAgent: new HttpsAgent({ keepAlive: true, lookup: s.lookup }) } : {}),
    },
  });
}

/** An error the SDK threw, by name and HTTP status (service errors), or a network error code. */
export function s3ErrorOf(err: unknown): { name: string; status?: number; code?: string } {
  const e = err as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return { name: e?.Code ?? e?.name ?? 'Error', status: e?.$metadata?.httpStatusCode, code: e?.code };
}

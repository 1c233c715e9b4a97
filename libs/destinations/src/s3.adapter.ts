import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { S3DestinationConfig } from './destination-config';
import { connectFailed, DeliveryError, ObjectLockedError, DeliveryRequest, DeliveryResult, DestinationAdapter, errorMessage, failedStep, namesOf, ReadBackOptions, StoredFile, StoredHash, TestReport, TestStep, throwIfAborted } from './delivery';
import { classifyFault } from './fault-table';
import { hashingSink } from './file-hash';
import { dialAddress, HOST_NOT_ALLOWED, HostAllowlist } from './host-allowlist';
import { backupDir, backupLocation, BACKUP_FOLDER, joinRemote, probeName } from './paths';
import { relativePathProblems } from '@pbx/contracts';
import { S3_FAULTS } from './s3-faults';
import { uploadStream } from './upload-throttle';

// Types only: the SDK itself is loaded on first use (./s3-sdk).
import type { S3Client as Client } from '@aws-sdk/client-s3';

type Sdk = typeof import('./s3-sdk');

export interface S3AdapterOptions {
  /** Where destinations may point (DESTINATION_HOSTS_ALLOWED); judged on the address each request dials. */
  hosts?: HostAllowlist;
  /** DESTINATION_CONNECT_TIMEOUT_MS / DESTINATION_IDLE_TIMEOUT_MS (a request during which nothing moved this long fails). */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Multipart part size (min 5 MiB) and parts in flight: memory held is about their product. */
  partSize?: number;
  queueSize?: number;
  /** The clock Object Lock dates are computed and compared with (tests). */
  now?: () => Date;
  /** Called with every client made (tests capture the requests the SDK sends). */
  onClient?: (client: Client) => void;
}

/** User metadata beside each object written under `objectLockDays`: its retain-until date. */
export const RETAIN_UNTIL_META = 'retain-until';
const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;

/**
 * S3-compatible object storage (AWS, MinIO, Ceph RGW, Wasabi, …) through the AWS SDK, loaded on
 * first use. Objects are `<prefix>/starface-backup/<name>/<file>`. An upload is lib-storage's
 * multipart `Upload` streamed from the archive (constant memory, paced by
 * maxUploadBytesPerSecond): the object appears only when the upload completes, and a failed or
 * aborted one is aborted on the service (AbortMultipartUpload), so there is no partial file.
 */
export class S3Adapter implements DestinationAdapter<S3DestinationConfig> {
  readonly type = 's3' as const;
  private sdk?: Promise<Sdk>;

  constructor(private readonly options: S3AdapterOptions = {}) {}

  label(config: S3DestinationConfig): string {
    const prefix = config.prefix ? `/${config.prefix.replace(/^\/+|\/+$/g, '')}` : '';
    return `[S3]${hostOf(config.endpoint)}/${config.bucket}${prefix}`;
  }

  async deliver(config: S3DestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    throwIfAborted(req.signal);
    const location = backupLocation(req.configurationName, req.fileName);
    const key = keyOf(config, location);
    const { sdk, client } = await this.open(config);
    // Aborting destroys the file stream: the part being sent finishes, the others are not sent,
    // and the upload is then aborted on the service (below) before this returns.
    const body = uploadStream(req.filePath, req.maxBytesPerSecond, { signal: req.signal, highWaterMark: 1 * MiB });
    const lock = config.objectLockDays ? new Date(this.now().getTime() + config.objectLockDays * DAY_MS) : undefined;
    const upload = new sdk.Upload({
      client,
      params: {
        Bucket: config.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/octet-stream',
        ...(config.storageClass ? { StorageClass: config.storageClass } : {}),
        ...(lock
          ? {
              ObjectLockMode: 'COMPLIANCE' as const,
              ObjectLockRetainUntilDate: lock,
              // S3 wants an integrity checksum on every request of a locked object's upload.
              ChecksumAlgorithm: 'CRC32' as const,
              // The date also beside the object: services without Object Lock do not report one.
              Metadata: { [RETAIN_UNTIL_META]: lock.toISOString() },
            }
          : {}),
      },
      partSize: this.options.partSize ?? 8 * MiB,
      queueSize: this.options.queueSize ?? 2,
      // Aborted by us below, after every part request has settled.
      leavePartsOnError: true,
    });
    upload.on('httpUploadProgress', (p) => {
      if (typeof p.loaded === 'number') req.onProgress?.(p.loaded);
    });
    try {
      req.onProgress?.(0);
      try {
        await upload.done();
      } catch (err) {
        const uploadId = (upload as unknown as { uploadId?: string }).uploadId;
        if (uploadId) {
          // Best effort, bounded: the upload's own failure is what the caller must hear.
          await client
            .send(new sdk.AbortMultipartUploadCommand({ Bucket: config.bucket, Key: key, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(10_000) })
            .catch(() => undefined);
        }
        throwIfAborted(req.signal);
        throw err;
      }
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket: config.bucket, Key: key }));
      if (head.ContentLength !== req.size) throw new DeliveryError('ioError', `size mismatch on ${location}: ${head.ContentLength} != ${req.size}`, false);
      req.onProgress?.(req.size);
      return { location, target: this.label(config), verified: 'size' };
    } catch (err) {
      throw s3Error(sdk, err, `cannot upload ${location}`);
    } finally {
      body.destroy();
      client.destroy();
    }
  }

  async list(config: S3DestinationConfig, configurationName: string): Promise<string[]> {
    return namesOf(await this.listDetailed(config, configurationName));
  }

  /** ListObjectsV2 below the configuration's folder: its direct objects, not the test's probes. */
  async listDetailed(config: S3DestinationConfig, configurationName: string): Promise<StoredFile[]> {
    const folder = `${keyOf(config, backupDir(configurationName))}/`;
    return this.withClient(config, `cannot list ${backupDir(configurationName)}`, async (sdk, client) => {
      const files: StoredFile[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: config.bucket, Prefix: folder, Delimiter: '/', ContinuationToken: token }));
        for (const o of page.Contents ?? []) {
          const name = (o.Key ?? '').slice(folder.length);
          if (!name || name.startsWith('.probe-')) continue;
          files.push({ name, size: o.Size ?? 0, modifiedAt: o.LastModified ?? null });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return files.sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  /** GetObject streamed through sha256 (and to `copyTo` for a restore); never held whole. */
  async hash(config: S3DestinationConfig, configurationName: string, fileName: string, options: ReadBackOptions = {}): Promise<StoredHash> {
    const location = backupLocation(configurationName, fileName);
    return this.withClient(config, `cannot read ${location}`, async (sdk, client) => {
      let body: Readable;
      try {
        const got = await client.send(new sdk.GetObjectCommand({ Bucket: config.bucket, Key: keyOf(config, location) }), { abortSignal: options.signal });
        body = got.Body as Readable;
      } catch (err) {
        if (isNoSuchKey(sdk, err)) return { state: 'missing' };
        throw err;
      }
      const { sink, result } = hashingSink(options.copyTo);
      await pipeline(body, sink, { signal: options.signal });
      return { state: 'stored', ...result() };
    });
  }

  /**
   * DeleteObject (of the version read, in a versioned bucket, so the copy is really gone and not
   * hidden behind a delete marker). A copy still under Object Lock — the date the service reports,
   * or the one written beside it — is never deleted: ObjectLockedError says until when.
   */
  async remove(config: S3DestinationConfig, configurationName: string, fileName: string): Promise<void> {
    const location = backupLocation(configurationName, fileName);
    const key = keyOf(config, location);
    await this.withClient(config, `cannot delete ${location}`, async (sdk, client) => {
      let head;
      try {
        head = await client.send(new sdk.HeadObjectCommand({ Bucket: config.bucket, Key: key }));
      } catch (err) {
        if (isNoSuchKey(sdk, err)) return;
        throw err;
      }
      const recorded = head.Metadata?.[RETAIN_UNTIL_META];
      const until = head.ObjectLockRetainUntilDate ?? (recorded && !Number.isNaN(Date.parse(recorded)) ? new Date(recorded) : undefined);
      if (until && until.getTime() > this.now().getTime()) throw new ObjectLockedError(location, until);
      await client.send(new sdk.DeleteObjectCommand({ Bucket: config.bucket, Key: key, ...(head.VersionId && head.VersionId !== 'null' ? { VersionId: head.VersionId } : {}) }));
    });
  }

  /** Writes, lists, reads back and deletes a probe object under `starface-backup/`. */
  async test(config: S3DestinationConfig, signal?: AbortSignal): Promise<TestReport> {
    const steps: TestStep[] = [];
    let current = 'connect';
    let opened: { sdk: Sdk; client: Client } | undefined;
    try {
      opened = await this.open(config);
      const { sdk, client } = opened;
      const probe = keyOf(config, `${BACKUP_FOLDER}/${probeName()}`);
      const send = <T>(step: string, fn: () => Promise<T>) => {
        current = step;
        throwIfAborted(signal);
        return fn().catch((err: unknown) => {
          throw s3Error(sdk, err, step);
        });
      };
      await send('connect', () => client.send(new sdk.ListObjectsV2Command({ Bucket: config.bucket, Prefix: keyOf(config, `${BACKUP_FOLDER}/`), MaxKeys: 1 }), { abortSignal: signal }));
      steps.push({ step: 'connect', ok: true, detail: `bucket ${config.bucket}` });
      await send('write probe object', () => client.send(new sdk.PutObjectCommand({ Bucket: config.bucket, Key: probe, Body: 'pbx-backup probe\n' }), { abortSignal: signal }));
      steps.push({ step: 'write probe object', ok: true });
      await send('delete probe object', () => client.send(new sdk.DeleteObjectCommand({ Bucket: config.bucket, Key: probe }), { abortSignal: signal }));
      steps.push({ step: 'delete probe object', ok: true });
      return { ok: true, steps };
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError('ioError', errorMessage(err), false, { cause: err });
      steps.push(failedStep(current, e));
      return { ok: false, steps, code: e.code };
    } finally {
      opened?.client.destroy();
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async withClient<T>(config: S3DestinationConfig, what: string, fn: (sdk: Sdk, client: Client) => Promise<T>): Promise<T> {
    const { sdk, client } = await this.open(config);
    try {
      return await fn(sdk, client);
    } catch (err) {
      throw s3Error(sdk, err, what);
    } finally {
      client.destroy();
    }
  }

  /**
   * A client for one operation. The endpoint's host is judged by the allowlist before anything
   * is sent (an address literal is never looked up), and every name the client dials is judged
   * again on the addresses it resolves to.
   */
  private async open(config: S3DestinationConfig): Promise<{ sdk: Sdk; client: Client }> {
    const host = hostOf(config.endpoint);
    await dialAddress(this.options.hosts, host);
    const sdk = await (this.sdk ??= import('./s3-sdk'));
    const client = sdk.createS3Client({
      endpoint: config.endpoint,
      region: config.region,
      bucket: config.bucket,
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      forcePathStyle: config.forcePathStyle ?? false,
      connectTimeoutMs: this.options.connectTimeoutMs,
      idleTimeoutMs: this.options.idleTimeoutMs,
      ...(this.options.hosts && !this.options.hosts.unrestricted ? { lookup: allowlistLookup(this.options.hosts, host) } : {}),
    });
    this.options.onClient?.(client);
    return { sdk, client };
  }
}

/** `<prefix>/<path>`; the prefix is judged by the api's own rule for relative paths. */
function keyOf(config: S3DestinationConfig, path: string): string {
  if (config.prefix === undefined || config.prefix === '') return path;
  const problems = relativePathProblems(config.prefix.replace(/\/+$/, ''));
  if (problems.length) throw new DeliveryError('notFound', `invalid S3 prefix ${JSON.stringify(config.prefix)}: ${problems.join('; ')}`, true);
  return joinRemote(config.prefix, path);
}

/** The endpoint URL's host name (brackets of an IPv6 literal removed). */
function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    throw new DeliveryError('notFound', `invalid S3 endpoint ${JSON.stringify(endpoint)}`, true);
  }
}

/**
 * A DNS lookup that refuses addresses outside DESTINATION_HOSTS_ALLOWED. A name listed as such
 * is trusted, and with it its sub-domains (`<bucket>.<endpoint>` of virtual-hosted requests);
 * any other name only when every address it resolves to is in a listed network.
 */
export function allowlistLookup(hosts: HostAllowlist, endpointHost: string): LookupFunction {
  const listedName = hosts.allows(endpointHost);
  const trusted = (name: string) => listedName && (name === endpointHost || name.endsWith(`.${endpointHost}`));
  return ((hostname: string, options: { all?: boolean }, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      if (!trusted(hostname) && !hosts.allows(hostname, addresses.map((a) => a.address))) {
        return callback(new DeliveryError('notFound', `the destination host ${HOST_NOT_ALLOWED}`, true), '');
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  }) as LookupFunction;
}

function isNoSuchKey(sdk: Sdk, err: unknown): boolean {
  const e = sdk.s3ErrorOf(err);
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.status === 404 && e.name !== 'NoSuchBucket');
}

/** Any failure as a DeliveryError from S3_FAULTS; every way of not reaching the server is CONNECT_FAILED. */
export function s3Error(sdk: Pick<Sdk, 's3ErrorOf'>, err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const { name, status, code } = sdk.s3ErrorOf(err);
  const message = errorMessage(err);
  const rule = classifyFault(S3_FAULTS, { name, status, errno: code, message });
  if (rule.code === 'mountfail') return connectFailed(err);
  return new DeliveryError(rule.code, `${what}: ${name}${message && message !== name ? `: ${message}` : ''}`, rule.permanent, { cause: err });
}

import { dirname } from 'node:path';
import type { DestinationType } from '@pbx/contracts';
import type { ConfigOf, DestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, ReadBackOptions, StoredFile, StoredHash, TestReport } from './delivery';
import { DropboxAdapter, DropboxAdapterOptions } from './dropbox.adapter';
import { EmailAdapter } from './email.adapter';
import { LocalAdapter } from './local.adapter';
import { S3Adapter, type S3AdapterOptions } from './s3.adapter';
import { SftpAdapter, SftpAdapterOptions } from './sftp.adapter';
import { maskErrorPaths, maskReportPaths, maskServerPaths, type PathMask } from './server-paths';
import { HostAllowlist } from './host-allowlist';
import { SmbAdapter, SmbAdapterOptions } from './smb.adapter';
import { UsbAdapter } from './usb.adapter';

export interface DestinationRegistryOptions {
  /** Local destinations live below this directory. */
  localRoot: string;
  /** fsync local copies before reporting success (default true). USB copies are always synced. */
  localFsync?: boolean;
  /**
   * Local and USB copies: 'size' (default) or 'sha256' (also hash the archive while it is
   * copied) — see DirectoryDeliveryOptions.verify.
   */
  localVerify?: 'sha256' | 'size';
  /** USB volumes are mounted below this directory (one sub-directory per device). */
  usbRoot: string;
  usbAllowUnmounted?: boolean;
  smtpUrl: string;
  mailFrom: string;
  /** Largest e-mail (on the wire); default 20 MiB. */
  mailMaxBytes?: number;
  dropbox: DropboxAdapterOptions;
  sftp?: SftpAdapterOptions;
  /** S3 tuning (part size, parts in flight); hosts and timeouts come from the options above. */
  s3?: Omit<S3AdapterOptions, 'hosts' | 'connectTimeoutMs' | 'idleTimeoutMs'>;
  /** Where SFTP, SMB and S3 destinations may connect (DESTINATION_HOSTS_ALLOWED); default anywhere. */
  hosts?: HostAllowlist;
  smb?: Omit<SmbAdapterOptions, 'tempDir'>;
  /** Private temp files (SMB credential files, the legacy SMB worker script). */
  tempDir?: string;
  /**
   * Network destinations (SFTP, SMB, S3, e-mail): how long connecting may take, and how long a
   * connection may go without anything moving before the attempt is aborted (transient
   * `timeout`). DESTINATION_CONNECT_TIMEOUT_MS / DESTINATION_IDLE_TIMEOUT_MS; default 20 s / 60 s.
   */
  timeouts?: { connectMs: number; idleMs: number };
}

export interface DestinationRegistry {
  get<T extends DestinationType>(type: T): DestinationAdapter<ConfigOf<T>>;
  deliver(config: DestinationConfig, req: DeliveryRequest): Promise<DeliveryResult>;
  list(config: DestinationConfig, configurationName: string): Promise<string[]>;
  listDetailed(config: DestinationConfig, configurationName: string): Promise<StoredFile[]>;
  hash(config: DestinationConfig, configurationName: string, fileName: string, options?: ReadBackOptions): Promise<StoredHash>;
  remove(config: DestinationConfig, configurationName: string, fileName: string): Promise<void>;
  test(config: DestinationConfig, signal?: AbortSignal): Promise<TestReport>;
  label(config: DestinationConfig): string;
}

/** One adapter per destination kind, wired from the service's configuration. */
export function createDestinationRegistry(options: DestinationRegistryOptions): DestinationRegistry {
  const { connectMs, idleMs } = options.timeouts ?? { connectMs: undefined, idleMs: undefined };
  const adapters: { [T in DestinationType]: DestinationAdapter<ConfigOf<T>> } = {
    local: new LocalAdapter(options.localRoot, { fsync: options.localFsync, verify: options.localVerify }),
    usb: new UsbAdapter({ usbRoot: options.usbRoot, allowUnmounted: options.usbAllowUnmounted, verify: options.localVerify }),
    smb: new SmbAdapter({
      hosts: options.hosts,
      idleTimeoutMs: idleMs,
      ...options.smb,
      tempDir: options.tempDir,
      legacy: { idleTimeoutMs: idleMs, ...options.smb?.legacy, tempDir: options.tempDir },
    }),
    sftp: new SftpAdapter({ hosts: options.hosts, readyTimeoutMs: connectMs, idleTimeoutMs: idleMs, ...options.sftp }),
    dropbox: new DropboxAdapter(options.dropbox),
    s3: new S3Adapter({ hosts: options.hosts, connectTimeoutMs: connectMs, idleTimeoutMs: idleMs, ...options.s3 }),
    email: new EmailAdapter({ smtpUrl: options.smtpUrl, mailFrom: options.mailFrom, maxBytes: options.mailMaxBytes, connectTimeoutMs: connectMs, idleTimeoutMs: idleMs }),
  };
  const get = <T extends DestinationType>(type: T): DestinationAdapter<ConfigOf<T>> => {
    const adapter = adapters[type];
    if (!adapter) throw new DeliveryError('notFound', `unknown destination type ${JSON.stringify(type)}`, true);
    return adapter as DestinationAdapter<ConfigOf<T>>;
  };
  // The union config is narrowed by its `type` tag; TS cannot correlate the two, hence the cast.
  const of = (config: DestinationConfig) => get(config.type) as unknown as DestinationAdapter<DestinationConfig>;
  // Local and USB destinations show paths below their root (remote paths are the user's own);
  // any kind shows private temp files and staged archives by name.
  const masksOf = (config: DestinationConfig, req?: DeliveryRequest): PathMask[] => [
    ...(config.type === 'local' ? [[options.localRoot, '/'] as const] : config.type === 'usb' ? [[options.usbRoot, '/'] as const] : []),
    ...(options.tempDir ? [[options.tempDir, 'tmp/'] as const] : []),
    ...(req ? [[dirname(req.filePath), 'artifacts/'] as const] : []),
  ];
  return {
    get,
    deliver: async (config, req) => {
      const limit = 'maxUploadBytesPerSecond' in config ? config.maxUploadBytesPerSecond : undefined;
      const paced = limit ? { ...req, maxBytesPerSecond: limit } : req;
      const result = await wrap(() => of(config).deliver(config, paced), masksOf(config, req));
      return { ...result, target: maskServerPaths(result.target, masksOf(config)) };
    },
    list: (config, name) => wrap(() => of(config).list(config, name), masksOf(config)),
    listDetailed: (config, name) => wrap(() => of(config).listDetailed(config, name), masksOf(config)),
    hash: (config, name, file, options) => wrap(() => of(config).hash(config, name, file, options), masksOf(config)),
    remove: (config, name, file) => wrap(() => of(config).remove(config, name, file), masksOf(config)),
    test: async (config, signal) => {
      try {
        return maskReportPaths(await of(config).test(config, signal), masksOf(config));
      } catch (err) {
        const e = maskErrorPaths(err, masksOf(config));
        return { ok: false, code: e.code, steps: [{ step: 'test', ok: false, detail: e.message }] };
      }
    },
    label: (config) => maskServerPaths(of(config).label(config), masksOf(config)),
  };
}

async function wrap<T>(fn: () => Promise<T>, masks: readonly PathMask[]): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw maskErrorPaths(err, masks);
  }
}

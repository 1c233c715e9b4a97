import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SmbDestinationConfig } from './destination-config';
import { connectFailed, DeliveryError, DeliveryRequest, throwIfAborted } from './delivery';
import { dialAddress, type HostAllowlist } from './host-allowlist';
import { idleWatchdog } from './idle-watchdog';
import { legacySmb2WorkerMain } from './smb2-legacy.worker';
import { classifyFault } from './fault-table';
import { FS_FAULTS } from './fs-faults';
import { SMB_FAULTS } from './smb-faults';
import { parseSmbTarget } from './smb-target';

export interface LegacySmb2Options {
  /** Kill the worker after this long (ms). Default 6 h: a big archive over a slow old NAS. */
  timeoutMs?: number;
  /** Kill the worker when it reported nothing this long (ms; DESTINATION_IDLE_TIMEOUT_MS): the server stopped answering. */
  idleTimeoutMs?: number;
  /** Where the worker script is materialised (a private dir below it). */
  tempDir?: string;
  /** WRITE requests in flight (64 KiB each). */
  concurrency?: number;
  /** Where servers may be (DESTINATION_HOSTS_ALLOWED); default anywhere. */
  hosts?: HostAllowlist;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; bytes: number }
  | { type: 'result'; value: unknown }
  /** `connecting`: no SMB dialect was agreed yet (connect or negotiate failed). */
  /** `connecting`: no SMB dialect was agreed yet (connect or negotiate failed). `local`: our own disk failed (writing a read-back's copy). */
  | { type: 'error'; code?: string; message: string; connecting?: boolean; local?: boolean };

export interface LegacyEntry {
  name: string;
  size: number;
  isDir: boolean;
  /** Last write time (null if the server sent none). */
  mtimeMs: number | null;
}

let workerFile: Promise<string> | undefined;

/**
 * The worker source is this package's own compiled function, written once to a private
 * directory: it works the same from ts sources under Jest and from dist/ after the build,
 * without shipping a separate .js file.
 */
function ensureWorkerFile(baseDir: string): Promise<string> {
  workerFile ??= (async () => {
    const smb2Main = require.resolve('@marsaud/smb2');
    const source = `'use strict';\n(${legacySmb2WorkerMain.toString()})(${JSON.stringify(smb2Main)});\n`;
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
    const dir = join(baseDir, `pbx-smb2-worker-${process.getuid?.() ?? 'u'}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `worker-${hash}.js`);
    await writeFile(file, source, { mode: 0o600 });
    return file;
  })().catch((err: unknown) => {
    workerFile = undefined;
    throw err;
  });
  return workerFile;
}

/**
 * @marsaud/smb2 (SMB 2.0.2/2.1, NTLMv1, no signing) in a child process per operation.
 * Only for old NAS/routers that cannot speak SMB3 or NTLMv2; see docs/destinations.md.
 */
export class LegacySmb2Driver {
  constructor(private readonly options: LegacySmb2Options) {}

  async deliver(
    config: SmbDestinationConfig,
    /** `debris`: earlier partial files to remove once the folders exist (partial-files.ts decides which). */
    req: DeliveryRequest & { dirLevels: string[]; tmpPath: string; finalPath: string; debris?: string[] },
  ): Promise<void> {
    this.checkSecurity(config);
    req.onProgress?.(0);
    const size = await this.call(
      config,
      { op: 'deliver', filePath: req.filePath, size: req.size, dirLevels: req.dirLevels, tmpPath: req.tmpPath, finalPath: req.finalPath, debris: req.debris ?? [] },
      req.signal,
      req.onProgress,
    );
    if (size !== req.size) throw new DeliveryError('ioError', `size check of ${req.finalPath} failed: remote ${String(size)} != ${req.size}`, false);
    req.onProgress?.(req.size);
  }

  async list(config: SmbDestinationConfig, dir: string): Promise<LegacyEntry[]> {
    this.checkSecurity(config);
    return (await this.call(config, { op: 'list', path: dir })) as LegacyEntry[];
  }

  /**
   * Reads the file at `path` back: its sha256 and size, streamed (constant memory), and with
   * `copyTo` a local copy (removed again when the read fails). `missing` when there is no file.
   */
  async read(config: SmbDestinationConfig, path: string, options: { signal?: AbortSignal; copyTo?: string } = {}): Promise<{ state: 'missing' } | { state: 'stored'; sha256: string; size: number }> {
    this.checkSecurity(config);
    try {
      const value = (await this.call(config, { op: 'read', path, copyTo: options.copyTo }, options.signal)) as { missing: true } | { sha256: string; size: number };
      return 'missing' in value ? { state: 'missing' } : { state: 'stored', sha256: value.sha256, size: value.size };
    } catch (err) {
      if (options.copyTo) await rm(options.copyTo, { force: true });
      throw err;
    }
  }

  async remove(config: SmbDestinationConfig, path: string): Promise<void> {
    this.checkSecurity(config);
    await this.call(config, { op: 'remove', path });
  }

  async probe(config: SmbDestinationConfig, dirLevels: string[], path: string, signal?: AbortSignal): Promise<void> {
    this.checkSecurity(config);
    await this.call(config, { op: 'probe', dirLevels, path }, signal);
  }

  /** The downgrade must be explicit in the configuration, not a side effect of picking a driver. */
  private checkSecurity(config: SmbDestinationConfig): void {
    if (config.security !== 'ntlmv1-legacy') {
      throw new DeliveryError('authFailed', `the legacy-smb2 driver only speaks NTLMv1 without signing; set security to "ntlmv1-legacy" (was "${config.security}")`, true);
    }
  }

  private async call(config: SmbDestinationConfig, request: Record<string, unknown>, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<unknown> {
    throwIfAborted(signal);
    const t = parseSmbTarget(config);
    // Checked on the address the worker dials, not only when the configuration was saved.
    const address = await dialAddress(this.options.hosts, t.server);
    const file = await ensureWorkerFile(this.options.tempDir ?? tmpdir());
    throwIfAborted(signal);
    return new Promise((resolve, reject) => {
      // --openssl-legacy-provider: the library's NTLM code needs MD4/DES, which OpenSSL 3 hides.
      const child = fork(file, [], { execArgv: ['--openssl-legacy-provider'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
      let settled = false;
      const idle = idleWatchdog(this.options.idleTimeoutMs ?? 60_000, 'legacy SMB', () => undefined);
      idle.expired.catch((err: DeliveryError) => finish(() => reject(err)));
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        idle.dispose();
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (child.exitCode === null) child.kill('SIGKILL');
        fn();
      };
      const timer = setTimeout(
        () => finish(() => reject(new DeliveryError('timeout', `legacy SMB operation timed out after ${this.options.timeoutMs ?? 6 * 3600_000} ms`, false))),
        this.options.timeoutMs ?? 6 * 3600_000,
      );
      const onAbort = () => finish(() => reject(new DeliveryError('timeout', 'delivery aborted', false)));
      signal?.addEventListener('abort', onAbort, { once: true });
      child.on('message', (msg: WorkerMessage) => {
        idle.touch();
        switch (msg.type) {
          case 'ready':
            // Credentials travel over the IPC channel, never argv/env.
            child.send({ ...request, concurrency: this.options.concurrency, target: { server: t.server, address, port: t.port, share: t.share, username: t.username, domain: t.domain, password: config.password } });
            break;
          case 'progress':
            onProgress?.(msg.bytes);
            break;
          case 'result':
            finish(() => resolve(msg.value));
            break;
          case 'error':
            finish(() => reject(legacyError(msg)));
            break;
        }
      });
      child.on('error', (err) => finish(() => reject(new DeliveryError('ioError', `legacy SMB worker failed: ${err.message}`, false))));
      child.on('exit', (code, sig) =>
        finish(() => reject(new DeliveryError('ioError', `legacy SMB worker exited (${sig ?? code}) without an answer${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`, false))),
      );
    });
  }
}

function legacyError({ code, message, connecting, local }: { code?: string; message: string; connecting?: boolean; local?: boolean }): DeliveryError {
  // Refused, reset, silence, junk or no common dialect look alike to the caller (the cause is for the log).
  if (connecting) return connectFailed(Object.assign(new Error(`legacy SMB: ${code ? `${code}: ` : ''}${message}`), { code }));
  // Our disk, as the local destination classifies it (a full disk is not the server's fault).
  if (local) {
    const rule = classifyFault(FS_FAULTS, { errno: code });
    return new DeliveryError(rule.code, `legacy SMB: cannot write the local copy: ${message}`, rule.permanent);
  }
  if (code === 'ENOENT' || code === 'EACCES') return new DeliveryError('ioError', `legacy SMB: cannot read the local file: ${message}`, false);
  const rule = classifyFault(SMB_FAULTS, code?.startsWith('STATUS_') ? { status: `NT_${code}` } : { errno: code });
  return new DeliveryError(rule.code, `legacy SMB: ${code?.startsWith('STATUS_') ? `${code}: ` : ''}${message}`, rule.permanent);
}

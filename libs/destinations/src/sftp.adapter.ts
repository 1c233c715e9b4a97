import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import SftpClient from 'ssh2-sftp-client';
import type { SftpDestinationConfig } from './destination-config';
import { connectFailed, DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, errorMessage, failedStep, namesOf, ReadBackOptions, StoredFile, StoredHash, TestReport, TestStep, throwIfAborted } from './delivery';
import { classifyFault } from './fault-table';
import { hashingSink } from './file-hash';
import { dialAddress, type HostAllowlist } from './host-allowlist';
import { idleWatchdog } from './idle-watchdog';
import { debrisToRemove, isPartialName, partialName } from './partial-files';
import { SFTP_FAULTS } from './sftp-faults';
import { uploadStream } from './upload-throttle';
import { backupDir, backupLocation, BACKUP_FOLDER, checkSegment, joinRemote, probeName, sftpBaseDir } from './paths';

export interface SftpAdapterOptions {
  /** Handshake + auth must finish within this (ms; DESTINATION_CONNECT_TIMEOUT_MS). */
  readyTimeoutMs?: number;
  /** A transfer step during which nothing moved this long is aborted (ms; DESTINATION_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
  /** fastPut tuning; the defaults reached ~1.1x OpenSSH `sftp` on loopback (bench/deliver). */
  chunkSize?: number;
  concurrency?: number;
  /** Where destinations may point (DESTINATION_HOSTS_ALLOWED); default anywhere. */
  hosts?: HostAllowlist;
}

/** "SHA256:" + unpadded base64 of the raw host key blob — what `ssh-keygen -lf` prints. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

function normalizeFingerprint(fp: string): string {
  const body = fp.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
  return `SHA256:${body}`;
}

interface Session {
  client: SftpClient;
  /** The fingerprint the server presented (set during the handshake). */
  presented?: string;
}

/**
 * SFTP via ssh2-sftp-client. The host key is always pinned: without a stored fingerprint
 * `deliver` refuses (hostKeyMismatch) and `test` only reports the presented fingerprint
 * without sending credentials, so the UI can offer trust-on-first-use.
 */
export class SftpAdapter implements DestinationAdapter<SftpDestinationConfig> {
  readonly type = 'sftp' as const;

  constructor(private readonly options: SftpAdapterOptions = {}) {}

  label(config: SftpDestinationConfig): string {
    const port = config.port && config.port !== 22 ? `:${config.port}` : '';
    return `[SFTP]${config.host}${port}:${config.path || '.'}`;
  }

  async deliver(config: SftpDestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    throwIfAborted(req.signal);
    const location = backupLocation(req.configurationName, req.fileName);
    const dir = joinRemote(sftpBaseDir(config), backupDir(req.configurationName));
    const fileName = checkSegment('file name', req.fileName);
    const finalPath = `${dir}/${fileName}`;
    const session = await this.connect(config, req.signal);
    const aborted = abortPromise(req.signal);
    // A server that stops answering mid-transfer never closes the connection: tear it down.
    const idle = idleWatchdog(this.options.idleTimeoutMs ?? 60_000, 'SFTP upload', () => sshOf(session.client).destroy());
    const stop = Promise.race([aborted.promise, idle.expired]);
    stop.catch(() => undefined);
    const within = <T>(step: Promise<T>): Promise<T> => Promise.race([step, stop]).finally(() => idle.touch());
    const tmp = `${dir}/${partialName(fileName, req.deliveryId)}`;
    let renamed = false;
    let sent = 0;
    try {
      await within(this.step(() => session.client.mkdir(dir, true), `cannot create ${dir}`));
      await within(sweep(session.client, dir, fileName, req.deliveryId));
      req.onProgress?.(0);
      await within(
        this.step(
          () =>
            req.maxBytesPerSecond
              ? session.client.put(
                  uploadStream(req.filePath, req.maxBytesPerSecond, { signal: req.signal }).on('data', (c: Buffer) => {
                    idle.touch();
                    req.onProgress?.((sent += c.length));
                  }),
                  tmp,
                )
              : session.client.fastPut(req.filePath, tmp, {
              chunkSize: this.options.chunkSize ?? 256 * 1024 - 1024,
              concurrency: this.options.concurrency ?? 32,
              // Each acknowledged write is progress: the idle clock watches these.
              step: (total: number) => {
                idle.touch();
                req.onProgress?.(total);
              },
            }),
          `cannot upload to ${tmp}`,
        ),
      );
      throwIfAborted(req.signal);
      await within(this.replace(session.client, tmp, finalPath));
      renamed = true;
      const st = await within(this.step(() => session.client.stat(finalPath), `cannot stat ${finalPath}`));
      if (st.size !== req.size) {
        throw new DeliveryError('ioError', `size mismatch on ${finalPath}: ${st.size} != ${req.size}`, false);
      }
      req.onProgress?.(req.size);
      return { location, target: this.label(config), verified: 'size' };
    } finally {
      aborted.dispose();
      idle.dispose();
      // Whatever went wrong, never leave a partial upload behind (best effort, bounded).
      if (!renamed && req.signal?.aborted) {
        // Aborted (a cancelled run): up to `concurrency` writes are still queued on this
        // connection, and on a slow link a delete would wait behind them. Cut it and delete
        // over a fresh one.
        sshOf(session.client).destroy();
        await withTimeout(this.withSession(config, (client) => client.delete(tmp, true)), 10_000).catch(() => undefined);
      } else {
        if (!renamed) await withTimeout(session.client.delete(tmp, true), 10_000).catch(() => undefined);
        await withTimeout(session.client.end(), 10_000).catch(() => undefined);
      }
    }
  }

  async list(config: SftpDestinationConfig, configurationName: string): Promise<string[]> {
    return namesOf(await this.listDetailed(config, configurationName));
  }

  async listDetailed(config: SftpDestinationConfig, configurationName: string): Promise<StoredFile[]> {
    const dir = joinRemote(sftpBaseDir(config), backupDir(configurationName));
    return this.withSession(config, async (client) => {
      const exists = await this.step(() => client.exists(dir), `cannot stat ${dir}`);
      if (!exists) return [];
      const entries = await this.step(() => client.list(dir), `cannot list ${dir}`);
      return entries
        .filter((e) => e.type === '-' && !isPartialName(e.name) && !e.name.startsWith('.probe-'))
        .map((e) => ({ name: e.name, size: e.size, modifiedAt: e.modifyTime ? new Date(e.modifyTime) : null }))
        .sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  /** Streams the remote file through sha256 (never to disk); a silent server is cut off by the idle clock. */
  async hash(config: SftpDestinationConfig, configurationName: string, fileName: string, options: ReadBackOptions = {}): Promise<StoredHash> {
    const signal = options.signal;
    const file = joinRemote(sftpBaseDir(config), backupDir(configurationName), checkSegment('file name', fileName));
    const session = await this.connect(config, signal);
    const aborted = abortPromise(signal);
    const idle = idleWatchdog(this.options.idleTimeoutMs ?? 60_000, 'SFTP read-back', () => sshOf(session.client).destroy());
    const stop = Promise.race([aborted.promise, idle.expired]);
    stop.catch(() => undefined);
    const within = <T>(step: Promise<T>): Promise<T> => Promise.race([step, stop]).finally(() => idle.touch());
    try {
      const kind = await within(this.step(() => session.client.exists(file), `cannot stat ${file}`));
      if (kind !== '-') return { state: 'missing' };
      const { sink, result } = hashingSink(options.copyTo);
      const watched = new Writable({
        write(chunk: Buffer, _enc, done) {
          idle.touch();
          sink.write(chunk, done);
        },
        final(done) {
          sink.end(done);
        },
      });
      await within(this.step(() => session.client.get(file, watched), `cannot read ${file}`));
      return { state: 'stored', ...result() };
    } finally {
      aborted.dispose();
      idle.dispose();
      await withTimeout(session.client.end(), 10_000).catch(() => undefined);
    }
  }

  async remove(config: SftpDestinationConfig, configurationName: string, fileName: string): Promise<void> {
    const file = joinRemote(sftpBaseDir(config), backupDir(configurationName), checkSegment('file name', fileName));
    await this.withSession(config, (client) => this.step(() => client.delete(file, true), `cannot delete ${file}`));
  }

  async test(config: SftpDestinationConfig, signal?: AbortSignal): Promise<TestReport> {
    const steps: TestStep[] = [];
    if (!config.hostKeyFingerprint) {
      // Learn the fingerprint without authenticating: credentials are never sent to an unverified host.
      let failure: DeliveryError | undefined;
      const presented = await this.fetchFingerprint(config, signal).catch((err: unknown) => {
        failure = sftpError(err, 'connect');
        return null;
      });
      if (!presented) return { ok: false, steps: [failedStep('connect', failure!)], code: failure!.code };
      steps.push({ step: 'connect', ok: true });
      steps.push({ step: 'verify host key', ok: false, detail: `no host key pinned; the server presented ${presented}` });
      return { ok: false, steps, code: 'hostKeyMismatch', hostKeyFingerprint: presented };
    }
    let session: Session | undefined;
    const base = sftpBaseDir(config);
    const dir = joinRemote(base, BACKUP_FOLDER);
    const probe = `${dir}/${probeName()}`;
    let current = 'connect';
    try {
      session = await this.connect(config, signal);
      steps.push({ step: 'connect', ok: true, detail: `host key ${session.presented}` });
      current = `mkdir ${dir}`;
      await this.step(() => session!.client.mkdir(dir, true), current);
      steps.push({ step: current, ok: true });
      current = 'write probe file';
      await this.step(() => session!.client.put(Buffer.from('pbx-backup probe\n'), probe), current);
      steps.push({ step: current, ok: true });
      current = 'delete probe file';
      await this.step(() => session!.client.delete(probe), current);
      steps.push({ step: current, ok: true });
      return { ok: true, steps, hostKeyFingerprint: session.presented };
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError('ioError', errorMessage(err));
      steps.push(failedStep(current, e));
      return { ok: false, steps, code: e.code, hostKeyFingerprint: session?.presented ?? (e as SftpConnectError).presented };
    } finally {
      await session?.client.end().catch(() => undefined);
    }
  }

  private async withSession<T>(config: SftpDestinationConfig, fn: (client: SftpClient) => Promise<T>): Promise<T> {
    const session = await this.connect(config);
    try {
      return await fn(session.client);
    } finally {
      await session.client.end().catch(() => undefined);
    }
  }

  /** Atomic replace: posix-rename@openssh.com overwrites; plain SFTP rename refuses to. */
  private async replace(client: SftpClient, from: string, to: string): Promise<void> {
    try {
      await client.posixRename(from, to);
    } catch (err) {
      const e = sftpError(err, `cannot rename ${from} to ${to}`);
      // Our own partial vanished: an overlapping attempt of this delivery swept it; worth another try.
      if (e.code === 'notFound') throw new DeliveryError('ioError', e.message, false, { cause: err });
      if (!/not supported|unsupported|extension/i.test(errorMessage(err))) throw e;
      // Servers without the extension: not atomic, but the partial name keeps the old file intact until here.
      await client.delete(to, true).catch(() => undefined);
      await this.step(() => client.rename(from, to), `cannot rename ${from} to ${to}`);
    }
  }

  private async step<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw sftpError(err, what);
    }
  }

  private async connect(config: SftpDestinationConfig, signal?: AbortSignal): Promise<Session> {
    const pinned = config.hostKeyFingerprint ? normalizeFingerprint(config.hostKeyFingerprint) : undefined;
    const session: Session = { client: new SftpClient('pbx-backup') };
    // A socket error after connect must not become an unhandled 'error' event.
    session.client.on('error', () => undefined);
    let verifierRejected = false;
    // Checked here, on the address actually dialled, not only when the configuration was saved.
    const address = await dialAddress(this.options.hosts, config.host);
    // Aborting during the handshake tears the socket down (a silent server would hold it for
    // readyTimeout). Once connected the session stays usable, so an aborted upload can still
    // delete its partial file; the callers race their steps against the signal instead.
    const ssh = (session.client as unknown as { client: { setNoDelay(v: boolean): void; destroy(): void } }).client;
    const destroy = () => ssh.destroy();
    signal?.addEventListener('abort', destroy, { once: true });
    try {
      throwIfAborted(signal);
      await session.client.connect({
        host: address,
        port: config.port ?? 22,
        username: config.username,
        password: config.password,
        privateKey: config.privateKey,
        passphrase: config.passphrase,
        readyTimeout: this.options.readyTimeoutMs ?? 20_000,
        // A silent peer outside a watched transfer (list, remove, test) ends too: 3 unanswered keepalives.
        keepaliveInterval: Math.max(1000, Math.floor((this.options.idleTimeoutMs ?? 60_000) / 3)),
        keepaliveCountMax: 3,
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          session.presented = sshFingerprint(key);
          verifierRejected = session.presented !== pinned;
          return !verifierRejected;
        },
      });
    } catch (err) {
      await session.client.end().catch(() => undefined);
      if (verifierRejected) {
        const msg = pinned
          ? `host key mismatch: ${config.host} presented ${session.presented}, expected ${pinned}`
          : `no host key pinned for ${config.host} (it presented ${session.presented}); confirm the fingerprint first`;
        throw Object.assign(new DeliveryError('hostKeyMismatch', msg, true, { cause: err }), { presented: session.presented });
      }
      throwIfAborted(signal);
      const e = sftpError(err, `cannot connect to ${config.host}:${config.port ?? 22}`);
      // Wrong credentials are worth telling; every other way of not getting in looks the same.
      throw Object.assign(e.code === 'authFailed' ? e : connectFailed(err), { presented: session.presented });
    }
    signal?.removeEventListener('abort', destroy);
    // Nagle + delayed ACK cost an order of magnitude on the many small SFTP packets.
    ssh.setNoDelay(true);
    return session;
  }

  /** Handshake only, host key always rejected: learns the fingerprint, sends no credentials. */
  private async fetchFingerprint(config: SftpDestinationConfig, signal?: AbortSignal): Promise<string> {
    try {
      await this.connect({ ...config, hostKeyFingerprint: undefined, password: undefined, privateKey: undefined }, signal);
    } catch (err) {
      const presented = (err as SftpConnectError).presented;
      if (presented) return presented;
      throw err;
    }
    throw new DeliveryError('hostKeyMismatch', 'server accepted an unverified connection', true);
  }
}

/**
 * Removes this service's debris in the folder before an upload (debrisToRemove decides; the
 * server's mtime says who still writes). Best effort: the upload reports a folder it cannot use.
 */
async function sweep(client: SftpClient, dir: string, fileName: string, deliveryId: string | undefined): Promise<void> {
  const entries = await client.list(dir).catch(() => []);
  const debris = debrisToRemove(
    entries.filter((e) => isPartialName(e.name)).map((e) => ({ name: e.name, mtimeMs: e.modifyTime, isDir: e.type !== '-' })),
    { fileName, deliveryId },
  );
  for (const name of debris) await client.delete(`${dir}/${name}`, true).catch(() => undefined);
}

/** ssh2's connection under ssh2-sftp-client (to set socket options or tear it down). */
function sshOf(client: SftpClient): { destroy(): void } {
  return (client as unknown as { client: { destroy(): void } }).client;
}

/** Rejects with `timeout` when the signal fires: ssh2-sftp-client calls cannot be cancelled. */
function abortPromise(signal: AbortSignal | undefined): { promise: Promise<never>; dispose(): void } {
  let onAbort = () => undefined as void;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new DeliveryError('timeout', 'delivery aborted', false));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => signal?.removeEventListener('abort', onAbort) };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

type SftpConnectError = DeliveryError & { presented?: string };

export function sftpError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const message = errorMessage(err);
  const { code, level } = (err ?? {}) as { code?: unknown; level?: string };
  const rule = classifyFault(SFTP_FAULTS, { code, level, message });
  return new DeliveryError(rule.code, `${what}: ${message}`, rule.permanent, { cause: err });
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { hashingSink } from './file-hash';
import { Dropbox, DropboxAuth, DropboxResponseError } from 'dropbox';
import nodeFetch, { RequestInfo, RequestInit } from 'node-fetch';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import type { DropboxDestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, errorMessage, namesOf, ReadBackOptions, StoredFile, StoredHash, TestReport, TestStep, throwIfAborted } from './delivery';
import { classifyDropboxFault, DropboxFault, DropboxFaultRule, DropboxRecovery } from './dropbox-faults';
import { TokenBucket, uploadStream } from './upload-throttle';
import { backupDir, backupLocation, BACKUP_FOLDER, checkSegment, dropboxRoot, probeName } from './paths';

export interface DropboxAppOptions {
  appKey: string;
  appSecret?: string;
  /** Test/fake base URL (e.g. http://127.0.0.1:4567): every *.dropboxapi.com request goes there. */
  apiBase?: string;
}

/** How one delivery attempt rides out faults before it gives up (then the dispatcher retries later). */
export interface DropboxRetryOptions {
  /** Repeats of one request after transient failures (429, 5xx, dropped connection, timeout). Default 5. */
  maxRetries?: number;
  /** First back-off delay; doubles per repeat, with full jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest wait Dropbox may ask for (Retry-After) that is waited out inside the attempt. Default 60 s. */
  maxWaitMs?: number;
  /** All waiting one attempt may do (back-off and Retry-After together). Default 5 min. */
  budgetMs?: number;
  /** New upload sessions after an expired or closed one, per attempt. Default 2. */
  maxNewSessions?: number;
}

export interface DropboxAdapterOptions extends DropboxAppOptions {
  /** Above this size upload sessions are used (Dropbox's single-request cap is 150 MB). */
  sessionThresholdBytes?: number;
  /** Bytes per upload_session append (held in memory once). Dropbox wants multiples of 4 MiB. */
  chunkBytes?: number;
  /** How often one session may resume after incorrect_offset before giving up. */
  maxResumes?: number;
  /** A request fails when no byte moves (connecting, sending or receiving) for this long. Default 60 s. */
  requestTimeoutMs?: number;
  retry?: DropboxRetryOptions;
  /** Waiting, replaceable in tests (e.g. to record a 30 s Retry-After without waiting it). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Dropbox's single-request cap is 150 MB (10^6), the smaller reading of "150 MB". */
export const DROPBOX_SINGLE_UPLOAD_MAX_BYTES = 150_000_000;
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const HASH_BLOCK = 4 * 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const RETRY_DEFAULTS: Required<DropboxRetryOptions> = { maxRetries: 5, baseDelayMs: 500, maxWaitMs: 60_000, budgetMs: 300_000, maxNewSessions: 2 };

type FetchFn = (url: RequestInfo, init?: RequestInit) => ReturnType<typeof nodeFetch>;

/** The Dropbox app is not set up on this server: say which setting is missing. */
function assertAppSetUp(app: DropboxAppOptions): void {
  const missing = [!app.appKey && 'DROPBOX_APP_KEY', !app.appSecret && 'DROPBOX_APP_SECRET'].filter(Boolean);
  if (missing.length) {
    throw new DomainError(ERROR_CODES.transient, `Dropbox is not set up on this server: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`);
  }
}

/**
 * Dropbox's authorize URL for this app: the user opens it, allows access and copies the
 * one-time code shown (no redirect URI), which `exchangeDropboxCode` turns into a refresh
 * token; `token_access_type=offline` is what makes Dropbox issue one.
 */
export async function dropboxAuthorizeUrl(app: DropboxAppOptions): Promise<string> {
  assertAppSetUp(app);
  const auth = new DropboxAuth({ clientId: app.appKey });
  // The SDK's types demand a redirect URI; the code flow without one is Dropbox's "paste the code" flow.
  return String(await auth.getAuthenticationUrl(undefined as unknown as string, undefined, 'code', 'offline'));
}

/** A request that moves no byte for `idleMs` (connecting included) is torn down with ETIMEDOUT. */
function idleTimeout<A extends HttpAgent>(agent: A, idleMs: number): A {
  const create = agent.createConnection.bind(agent) as (o: ClientRequestArgs & HttpsRequestOptions, cb?: (err: Error | null, s: Duplex) => void) => Duplex | null | undefined;
  agent.createConnection = (options, cb) => {
    const socket = create(options, cb);
    socket?.on('timeout', () => socket.destroy(Object.assign(new Error(`Dropbox did not answer: no data for ${idleMs} ms`), { code: 'ETIMEDOUT' })));
    return socket;
  };
  // A pooled socket's timeout follows the server's Keep-Alive hint (minus 1 s); in use it is ours again.
  const reuse = agent.reuseSocket.bind(agent);
  agent.reuseSocket = (socket, req) => {
    reuse(socket, req);
    (socket as Socket).setTimeout(idleMs);
  };
  return agent;
}

/**
 * The SDK's own `fetch` option, with https://{api,content}.dropboxapi.com rewritten to
 * `apiBase` when one is configured. node-fetch v2 because the SDK's download path calls
 * `res.buffer()`. Every request gets the idle timeout (keep-alive agents whose sockets time
 * out after `requestTimeoutMs` without traffic).
 */
export function dropboxFetch(apiBase?: string, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): FetchFn {
  const http = idleTimeout(new HttpAgent({ keepAlive: true, timeout: requestTimeoutMs }), requestTimeoutMs);
  const https = idleTimeout(new HttpsAgent({ keepAlive: true, timeout: requestTimeoutMs }), requestTimeoutMs);
  const agent = (url: URL) => (url.protocol === 'http:' ? http : https);
  const base = apiBase?.replace(/\/+$/, '');
  return (url, init) => {
    const target = typeof url === 'string' ? new URL(url) : null;
    if (base && target && /(^|\.)dropbox(api)?\.com$/.test(target.hostname)) return nodeFetch(`${base}${target.pathname}${target.search}`, { ...init, agent });
    return nodeFetch(url, { ...init, agent });
  };
}

/** The same fetch, aborted with `signal` (node-fetch v2 honours `signal`). */
function withSignal(fetch: FetchFn, signal: AbortSignal | undefined): FetchFn {
  if (!signal) return fetch;
  return (url, init) => fetch(url, { ...init, signal: signal as NonNullable<RequestInit['signal']> });
}

/**
 * Exchanges the one-time code the user copied from Dropbox's consent page for a refresh
 * token (store it encrypted; the code itself is worthless afterwards).
 */
export async function exchangeDropboxCode(code: string, app: DropboxAppOptions & { codeVerifier?: string }): Promise<string> {
  // Without the secret the SDK would try PKCE and fail with a message about a code verifier.
  if (!app.codeVerifier) assertAppSetUp(app);
  const auth = new DropboxAuth({ clientId: app.appKey, clientSecret: app.appSecret, fetch: dropboxFetch(app.apiBase) });
  if (app.codeVerifier) auth.setCodeVerifier(app.codeVerifier);
  try {
    const res = await auth.getAccessTokenFromCode('', code.trim());
    const refresh = (res.result as { refresh_token?: string }).refresh_token;
    if (!refresh) throw new DeliveryError('authFailed', 'Dropbox returned no refresh token (was the app authorised with token_access_type=offline?)', true);
    return refresh;
  } catch (err) {
    throw dropboxError(err, 'code exchange failed');
  }
}

/** Dropbox's content_hash of a local file: sha256 over the sha256 of each 4 MiB block. */
export async function localContentHash(path: string, signal?: AbortSignal): Promise<string> {
  const overall = createHash('sha256');
  let block = createHash('sha256');
  let inBlock = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) {
    let buf = chunk as Buffer;
    while (buf.length) {
      const take = Math.min(HASH_BLOCK - inBlock, buf.length);
      block.update(buf.subarray(0, take));
      inBlock += take;
      buf = buf.subarray(take);
      if (inBlock === HASH_BLOCK) {
        overall.update(block.digest());
        block = createHash('sha256');
        inBlock = 0;
      }
    }
  }
  if (inBlock > 0) overall.update(block.digest());
  return overall.digest('hex');
}

interface Conn {
  dbx: Dropbox;
  auth: DropboxAuth;
}

interface DbxErrorBody {
  error_summary?: string;
  error?: unknown;
}

/** Stored file metadata as upload and finish return it. */
interface Stored {
  size: number;
  content_hash?: string;
}

/** What one delivery attempt may still do: its waiting budget and the caller's signal. */
class Attempt {
  private waitedMs = 0;
  constructor(
    readonly retry: Required<DropboxRetryOptions>,
    readonly signal: AbortSignal | undefined,
  ) {}

  get remainingMs(): number {
    return Math.max(0, this.retry.budgetMs - this.waitedMs);
  }

  spend(ms: number): void {
    this.waitedMs += ms;
  }
}

/** A Dropbox failure with what the table says about it (recovery) and what Dropbox told (offset, wait). */
export class DropboxDeliveryError extends DeliveryError {
  constructor(
    rule: Pick<DropboxFaultRule, 'code' | 'permanent' | 'recovery'>,
    message: string,
    readonly details: { correctOffset?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(rule.code, message, rule.permanent, { cause: details.cause });
    this.name = 'DropboxDeliveryError';
    this.recovery = rule.recovery;
  }
  readonly recovery: DropboxRecovery;
  get correctOffset(): number | undefined {
    return this.details.correctOffset;
  }
  /** How long Dropbox asked to wait, when that was more than this attempt could: the dispatcher retries later. */
  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }
}

const recoveryOf = (err: unknown): DropboxRecovery | undefined => (err instanceof DropboxDeliveryError ? err.recovery : undefined);

/**
 * Dropbox via the official SDK. Dropbox commits an upload atomically (a file appears only
 * when files/upload or upload_session/finish succeeds), so no partial name + move is needed;
 * mode "overwrite" replaces an older copy in the same commit. Faults are ridden out inside
 * the attempt as DROPBOX_FAULTS says (dropbox-faults.ts).
 */
export class DropboxAdapter implements DestinationAdapter<DropboxDestinationConfig> {
  readonly type = 'dropbox' as const;
  /** One DropboxAuth per refresh token, so access tokens are reused until they expire. */
  private readonly auths = new Map<string, DropboxAuth>();
  private readonly fetch: FetchFn;
  private readonly retry: Required<DropboxRetryOptions>;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: DropboxAdapterOptions) {
    this.fetch = dropboxFetch(options.apiBase, options.requestTimeoutMs);
    this.retry = { ...RETRY_DEFAULTS, ...options.retry };
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
  }

  label(config: DropboxDestinationConfig): string {
    return `[DROPBOX]${dropboxRoot(config) || '/'}`;
  }

  async deliver(config: DropboxDestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    throwIfAborted(req.signal);
    const location = backupLocation(req.configurationName, req.fileName);
    const path = `${dropboxRoot(config)}/${location}`;
    const attempt = new Attempt(this.retry, req.signal);
    const conn = this.client(config, req.signal);
    const localHash = await localContentHash(req.filePath, req.signal);

    const existing = await this.stored(conn, path, attempt);
    if (existing && existing.size === req.size && existing.content_hash === localHash) {
      req.onProgress?.(req.size);
      return { location, target: this.label(config), verified: 'content_hash', alreadyPresent: true };
    }

    req.onProgress?.(0);
    const threshold = Math.min(this.options.sessionThresholdBytes ?? DROPBOX_SINGLE_UPLOAD_MAX_BYTES, DROPBOX_SINGLE_UPLOAD_MAX_BYTES);
    const meta = req.size > threshold ? await this.uploadInSession(conn, path, req, attempt, localHash) : await this.uploadSingle(conn, path, req, attempt);
    if (meta.size !== req.size || (meta.content_hash && meta.content_hash !== localHash)) {
      throw new DeliveryError('ioError', `Dropbox stored ${meta.size} bytes with content_hash ${meta.content_hash}, expected ${req.size} / ${localHash}`, false);
    }
    req.onProgress?.(req.size);
    return { location, target: this.label(config), verified: meta.content_hash ? 'content_hash' : 'size' };
  }

  async list(config: DropboxDestinationConfig, configurationName: string): Promise<string[]> {
    return namesOf(await this.listDetailed(config, configurationName));
  }

  async listDetailed(config: DropboxDestinationConfig, configurationName: string): Promise<StoredFile[]> {
    const conn = this.client(config);
    const attempt = new Attempt(this.retry, undefined);
    const path = `${dropboxRoot(config)}/${backupDir(configurationName)}`;
    const files: StoredFile[] = [];
    try {
      let page = (await this.call(conn, (d) => d.filesListFolder({ path }), 'list_folder', attempt)).result;
      for (;;) {
        for (const e of page.entries) {
          if (e['.tag'] !== 'file' || e.name.startsWith('.probe-')) continue;
          files.push({ name: e.name, size: e.size, modifiedAt: e.server_modified ? new Date(e.server_modified) : null });
        }
        if (!page.has_more) break;
        const cursor = page.cursor;
        page = (await this.call(conn, (d) => d.filesListFolderContinue({ cursor }), 'list_folder/continue', attempt)).result;
      }
    } catch (err) {
      if (err instanceof DeliveryError && err.code === 'notFound') return [];
      throw err;
    }
    return files.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Downloads the file through sha256. Not the SDK's filesDownload, which buffers the whole
   * file; the content endpoint is streamed with the SDK's (refreshed) access token.
   */
  async hash(config: DropboxDestinationConfig, configurationName: string, fileName: string, options: ReadBackOptions = {}): Promise<StoredHash> {
    const signal = options.signal;
    const path = `${dropboxRoot(config)}/${backupDir(configurationName)}/${checkSegment('file name', fileName)}`;
    const conn = this.client(config, signal);
    const attempt = new Attempt(this.retry, signal);
    if (!(await this.stored(conn, path, attempt))) return { state: 'missing' };
    await conn.auth.checkAndRefreshAccessToken();
    const res = await withSignal(this.fetch, signal)('https://content.dropboxapi.com/2/files/download', {
      method: 'POST',
      headers: { Authorization: `Bearer ${conn.auth.getAccessToken()}`, 'Dropbox-API-Arg': JSON.stringify({ path }) },
    }).catch((err: unknown) => {
      throw dropboxError(err, 'download');
    });
    if (res.status === 409 && /not_found/.test(await res.text().catch(() => ''))) return { state: 'missing' };
    if (!res.ok || !res.body) throw new DeliveryError(res.status === 401 ? 'authFailed' : 'ioError', `download of ${path} failed: HTTP ${res.status}`, res.status === 401);
    const { sink, result } = hashingSink(options.copyTo);
    try {
      await pipeline(res.body as unknown as NodeJS.ReadableStream, sink);
    } catch (err) {
      throw dropboxError(err, 'download');
    }
    return { state: 'stored', ...result() };
  }

  async remove(config: DropboxDestinationConfig, configurationName: string, fileName: string): Promise<void> {
    const conn = this.client(config);
    const path = `${dropboxRoot(config)}/${backupDir(configurationName)}/${checkSegment('file name', fileName)}`;
    await this.call(conn, (d) => d.filesDeleteV2({ path }), 'delete', new Attempt(this.retry, undefined)).catch((err: unknown) => {
      if (!(err instanceof DeliveryError && err.code === 'notFound')) throw err;
    });
  }

  async test(config: DropboxDestinationConfig, signal?: AbortSignal): Promise<TestReport> {
    const steps: TestStep[] = [];
    let current = 'authorise';
    // A test answers quickly: no waiting out rate limits or back-off.
    const attempt = new Attempt({ ...this.retry, maxRetries: 0 }, signal);
    try {
      const conn = this.client(config, signal);
      const account = await this.call(conn, (d) => d.usersGetCurrentAccount(), 'get_current_account', attempt);
      steps.push({ step: current, ok: true, detail: account.result.email });
      const probe = `${dropboxRoot(config)}/${BACKUP_FOLDER}/${probeName()}`;
      current = 'write probe file';
      await this.call(conn, (d) => d.filesUpload({ path: probe, mode: { '.tag': 'overwrite' }, mute: true, contents: Buffer.from('pbx-backup probe\n') }), 'upload', attempt);
      steps.push({ step: current, ok: true });
      current = 'delete probe file';
      await this.call(conn, (d) => d.filesDeleteV2({ path: probe }), 'delete', attempt);
      steps.push({ step: current, ok: true });
      return { ok: true, steps };
    } catch (err) {
      const e = err instanceof DeliveryError ? err : dropboxError(err, current);
      steps.push({ step: current, ok: false, detail: e.message });
      return { ok: false, steps, code: e.code };
    }
  }

  private client(config: DropboxDestinationConfig, signal?: AbortSignal): Conn {
    if (!config.refreshToken) {
      throw new DeliveryError(
        'authFailed',
        config.authorizationCode ? 'the Dropbox authorisation code has not been exchanged for a refresh token yet' : 'Dropbox is not connected (no refresh token)',
        true,
      );
    }
    let auth = this.auths.get(config.refreshToken);
    if (!auth) {
      auth = new DropboxAuth({ refreshToken: config.refreshToken, clientId: this.options.appKey, clientSecret: this.options.appSecret, fetch: this.fetch });
      this.auths.set(config.refreshToken, auth);
    }
    // The access token is shared; the signal belongs to this delivery's requests only.
    return { dbx: new Dropbox({ auth, fetch: withSignal(this.fetch, signal) }), auth };
  }

  /** The file at `path`, or null when there is none (or a folder). */
  private async stored(conn: Conn, path: string, attempt: Attempt): Promise<Stored | null> {
    try {
      const res = await this.call(conn, (d) => d.filesGetMetadata({ path }), 'get_metadata', attempt);
      const meta = res.result as { '.tag'?: string } & Stored;
      return meta['.tag'] === 'file' ? meta : null;
    } catch (err) {
      if (err instanceof DeliveryError && err.code === 'notFound') return null;
      throw err;
    }
  }

  /**
   * One API call, repeated as the fault table says: an access token Dropbox reports as
   * expired (the SDK refreshes only by its own clock) is refreshed once; a rate limit is
   * waited out as Dropbox asks; 5xx, dropped connections and timeouts back off with jitter.
   * `fn` builds the request anew each time (a fresh body stream).
   */
  private async call<T>(conn: Conn, fn: (d: Dropbox) => Promise<T>, what: string, attempt: Attempt): Promise<T> {
    let refreshed = false;
    for (let retries = 0; ; ) {
      throwIfAborted(attempt.signal);
      let err: DropboxDeliveryError;
      try {
        return await fn(conn.dbx);
      } catch (e) {
        err = dropboxError(e, what);
      }
      if (err.recovery === 'refreshToken' && !refreshed) {
        refreshed = true;
        try {
          await conn.auth.refreshAccessToken();
        } catch (e) {
          throw dropboxError(e, what);
        }
        continue;
      }
      if ((err.recovery === 'waitAndRetry' || err.recovery === 'backoffAndRetry') && retries < attempt.retry.maxRetries) {
        await this.pause(err, retries++, what, attempt);
        continue;
      }
      throw err;
    }
  }

  /** Waits before repeating a request: what Dropbox asked for, else exponential back-off with full jitter. */
  private async pause(err: DropboxDeliveryError, retry: number, what: string, attempt: Attempt): Promise<void> {
    const asked = retryAfterMs(err.cause);
    const cap = Math.min(attempt.retry.maxWaitMs, attempt.remainingMs);
    if (asked !== undefined && asked > cap) {
      throw new DropboxDeliveryError(
        { code: err.code, permanent: false, recovery: 'fail' },
        `${err.message}; Dropbox asked to wait ${Math.ceil(asked / 1000)} s, more than this attempt may wait (${Math.floor(cap / 1000)} s): try again later`,
        { retryAfterMs: asked, cause: err },
      );
    }
    const backoff = attempt.retry.baseDelayMs * 2 ** retry;
    const ms = asked ?? Math.round(backoff / 2 + (Math.random() * backoff) / 2);
    if (ms > attempt.remainingMs) throw err;
    attempt.spend(ms);
    try {
      await this.sleep(ms, attempt.signal);
    } catch (e) {
      throw dropboxError(e, what);
    }
  }

  private async uploadSingle(conn: Conn, path: string, req: DeliveryRequest, attempt: Attempt): Promise<Stored> {
    // The body streams from disk (node-fetch accepts a stream): no whole-file buffer.
    const res = await this.call(
      conn,
      (d) => d.filesUpload({ path, mode: { '.tag': 'overwrite' }, autorename: false, mute: true, contents: uploadStream(req.filePath, req.maxBytesPerSecond, { signal: req.signal }) }),
      'upload',
      attempt,
    );
    return res.result;
  }

  /**
   * start → append_v2… → finish. A repeated chunk after a lost answer meets incorrect_offset
   * and continues at the server's correct_offset (no byte is appended twice); an expired or
   * closed session is replaced by a new one; a refused finish is repeated alone (`call`).
   */
  private async uploadInSession(conn: Conn, path: string, req: DeliveryRequest, attempt: Attempt, localHash: string): Promise<Stored> {
    const chunkBytes = Math.min(this.options.chunkBytes ?? DEFAULT_CHUNK, DROPBOX_SINGLE_UPLOAD_MAX_BYTES);
    const maxResumes = this.options.maxResumes ?? 5;
    const fh = await open(req.filePath, 'r');
    try {
      const buf = Buffer.allocUnsafe(chunkBytes);
      for (let newSessions = 0; ; newSessions++) {
        try {
          return await this.oneSession(conn, path, req, attempt, { fh, buf, maxResumes });
        } catch (err) {
          if (recoveryOf(err) !== 'newSession' || newSessions >= attempt.retry.maxNewSessions) throw err;
          // A finish whose answer was lost may have committed before the session vanished.
          const there = await this.stored(conn, path, attempt);
          if (there && there.size === req.size && there.content_hash === localHash) return there;
          req.onProgress?.(0);
        }
      }
    } finally {
      await fh.close();
    }
  }

  private async oneSession(
    conn: Conn,
    path: string,
    req: DeliveryRequest,
    attempt: Attempt,
    io: { fh: Awaited<ReturnType<typeof open>>; buf: Buffer; maxResumes: number },
  ): Promise<Stored> {
    const start = await this.call(conn, (d) => d.filesUploadSessionStart({ close: false, contents: Buffer.alloc(0) }), 'upload_session/start', attempt);
    const sessionId = start.result.session_id;
    let offset = 0;
    let resumes = 0;
    // Each chunk is one request: the bucket paces them so the average stays at the limit.
    const pace = req.maxBytesPerSecond ? new TokenBucket(req.maxBytesPerSecond) : null;
    for (;;) {
      throwIfAborted(req.signal);
      const { bytesRead } = await io.fh.read(io.buf, 0, Math.min(io.buf.length, req.size - offset), offset);
      await pace?.take(bytesRead);
      const contents = io.buf.subarray(0, bytesRead);
      const cursor = { session_id: sessionId, offset };
      try {
        if (offset + bytesRead >= req.size) {
          const commit = { path, mode: { '.tag': 'overwrite' as const }, autorename: false, mute: true };
          return (await this.call(conn, (d) => d.filesUploadSessionFinish({ cursor, commit, contents }), 'upload_session/finish', attempt)).result;
        }
        await this.call(conn, (d) => d.filesUploadSessionAppendV2({ cursor, close: false, contents }), 'upload_session/append_v2', attempt);
        offset += bytesRead;
        req.onProgress?.(offset);
      } catch (err) {
        const correct = err instanceof DropboxDeliveryError && err.recovery === 'resumeAtOffset' ? err.correctOffset : undefined;
        if (correct === undefined || resumes >= io.maxResumes || correct > req.size) throw err;
        resumes++;
        offset = correct; // the server is the truth: continue from what it has
      }
    }
  }
}

function summary(err: DropboxResponseError<unknown>): string {
  const body = err.error as DbxErrorBody | string | undefined;
  return typeof body === 'object' && body ? (body.error_summary ?? String((body as { error?: unknown }).error ?? '')) : String(body ?? '');
}

/** Finds `correct_offset` in an incorrect_offset error, however deeply Dropbox nested it. */
function findCorrectOffset(value: unknown): number | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const rec = value as Record<string, unknown>;
  if (rec['.tag'] === 'incorrect_offset' && typeof rec.correct_offset === 'number') return rec.correct_offset;
  for (const v of Object.values(rec)) {
    const found = findCorrectOffset(v);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The wait Dropbox asked for: `retry_after` in a RateLimitError body, else the Retry-After header (seconds or a date). */
function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof DropboxResponseError)) return undefined;
  const body = err.error as { error?: { retry_after?: unknown } } | undefined;
  const inBody = typeof body === 'object' && body ? body.error?.retry_after : undefined;
  if (typeof inBody === 'number' && inBody >= 0) return inBody * 1000;
  const header = (err.headers as { get?(name: string): string | null } | undefined)?.get?.('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A thrown value as the fault table sees it. */
export function dropboxFault(err: unknown): DropboxFault {
  if (err instanceof DropboxResponseError) return { status: err.status, summary: summary(err) };
  const e = err as { name?: string; code?: string; type?: string; message?: string } | undefined;
  if (e?.name === 'AbortError' || e?.code === 'ABORT_ERR') return { network: 'ABORTED' };
  if (e?.code) return { network: e.code };
  if (/socket hang up|premature close/i.test(e?.message ?? '')) return { network: 'HANGUP' };
  return {};
}

export function dropboxError(err: unknown, what: string): DropboxDeliveryError {
  if (err instanceof DropboxDeliveryError) return err;
  if (err instanceof DeliveryError) return new DropboxDeliveryError({ code: err.code, permanent: err.permanent, recovery: 'fail' }, err.message, { cause: err.cause });
  const rule = classifyDropboxFault(dropboxFault(err));
  if (err instanceof DropboxResponseError) {
    return new DropboxDeliveryError(rule, `Dropbox ${what}: HTTP ${err.status} ${summary(err)}`.trim(), { correctOffset: findCorrectOffset(err.error), cause: err });
  }
  if (rule.recovery === 'fail' && rule.code === 'timeout') return new DropboxDeliveryError(rule, `Dropbox ${what}: aborted`, { cause: err });
  return new DropboxDeliveryError(rule, `Dropbox ${what}: ${errorMessage(err)}`, { cause: err });
}

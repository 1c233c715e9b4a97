import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Dropbox, DropboxAuth, DropboxResponseError } from 'dropbox';
import nodeFetch, { RequestInfo, RequestInit } from 'node-fetch';
import type { DeliveryCode } from '@pbx/contracts';
import type { DropboxDestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, errorMessage, TestReport, TestStep, throwIfAborted } from './delivery';
import { backupDir, backupLocation, BACKUP_FOLDER, checkSegment, dropboxRoot, probeName } from './paths';

export interface DropboxAppOptions {
  appKey: string;
  appSecret?: string;
  /** Test/fake base URL (e.g. http://127.0.0.1:4567): every *.dropboxapi.com request goes there. */
  apiBase?: string;
}

export interface DropboxAdapterOptions extends DropboxAppOptions {
  /** Above this size upload sessions are used (Dropbox's single-request cap is 150 MB). */
  sessionThresholdBytes?: number;
  /** Bytes per upload_session append (held in memory once). Dropbox wants multiples of 4 MiB. */
  chunkBytes?: number;
  /** How often one session may resume after incorrect_offset before giving up. */
  maxResumes?: number;
}

const DEFAULT_THRESHOLD = 150 * 1024 * 1024;
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const HASH_BLOCK = 4 * 1024 * 1024;

type FetchFn = (url: RequestInfo, init?: RequestInit) => ReturnType<typeof nodeFetch>;

/**
 * The SDK's own `fetch` option, with https://{api,content}.dropboxapi.com rewritten to
 * `apiBase` when one is configured. node-fetch v2 because the SDK's download path calls
 * `res.buffer()`.
 */
export function dropboxFetch(apiBase?: string): FetchFn {
  if (!apiBase) return nodeFetch;
  const base = apiBase.replace(/\/+$/, '');
  return (url, init) => {
    const target = typeof url === 'string' ? new URL(url) : null;
    if (target && /(^|\.)dropbox(api)?\.com$/.test(target.hostname)) return nodeFetch(`${base}${target.pathname}${target.search}`, init);
    return nodeFetch(url, init);
  };
}

/**
 * Exchanges the one-time code the user copied from Dropbox's consent page for a refresh
 * token (store it encrypted; the code itself is worthless afterwards).
 */
export async function exchangeDropboxCode(code: string, app: DropboxAppOptions & { codeVerifier?: string }): Promise<string> {
  const auth = new DropboxAuth({ clientId: app.appKey, clientSecret: app.appSecret, fetch: dropboxFetch(app.apiBase) });
  if (app.codeVerifier) auth.setCodeVerifier(app.codeVerifier);
  try {
    const res = await auth.getAccessTokenFromCode('', code.trim());
    const refresh = (res.result as { refresh_token?: string }).refresh_token;
    if (!refresh) throw new DeliveryError('authFailed', 'Dropbox returned no refresh token (was the app authorised with token_access_type=offline?)', true);
    return refresh;
  } catch (err) {
    throw dropboxError(err, 'Dropbox code exchange failed');
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

/**
 * Dropbox via the official SDK. Dropbox commits an upload atomically (a file appears only
 * when files/upload or upload_session/finish succeeds), so no partial name + move is needed;
 * mode "overwrite" replaces an older copy in the same commit.
 */
export class DropboxAdapter implements DestinationAdapter<DropboxDestinationConfig> {
  readonly type = 'dropbox' as const;
  /** One DropboxAuth per refresh token, so access tokens are reused until they expire. */
  private readonly auths = new Map<string, DropboxAuth>();
  private readonly fetch: FetchFn;

  constructor(private readonly options: DropboxAdapterOptions) {
    this.fetch = dropboxFetch(options.apiBase);
  }

  label(config: DropboxDestinationConfig): string {
    return `[DROPBOX]${dropboxRoot(config) || '/'}`;
  }

  async deliver(config: DropboxDestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    throwIfAborted(req.signal);
    const location = backupLocation(req.configurationName, req.fileName);
    const path = `${dropboxRoot(config)}/${location}`;
    const dbx = this.client(config);
    const localHash = await localContentHash(req.filePath, req.signal);

    const existing = await this.call(dbx, (d) => d.filesGetMetadata({ path }), 'get_metadata').catch((err: unknown) => {
      if (err instanceof DeliveryError && err.code === 'notFound') return null;
      throw err;
    });
    const ex = existing?.result as { '.tag'?: string; size?: number; content_hash?: string } | undefined;
    if (ex?.['.tag'] === 'file' && ex.size === req.size && ex.content_hash === localHash) {
      req.onProgress?.(req.size);
      return { location, target: this.label(config), verified: 'content_hash', alreadyPresent: true };
    }

    req.onProgress?.(0);
    const meta =
      req.size > (this.options.sessionThresholdBytes ?? DEFAULT_THRESHOLD) ? await this.uploadInSession(dbx, path, req) : await this.uploadSingle(dbx, path, req);
    if (meta.size !== req.size || (meta.content_hash && meta.content_hash !== localHash)) {
      throw new DeliveryError('ioError', `Dropbox stored ${meta.size} bytes with content_hash ${meta.content_hash}, expected ${req.size} / ${localHash}`, false);
    }
    req.onProgress?.(req.size);
    return { location, target: this.label(config), verified: meta.content_hash ? 'content_hash' : 'size' };
  }

  async list(config: DropboxDestinationConfig, configurationName: string): Promise<string[]> {
    const dbx = this.client(config);
    const path = `${dropboxRoot(config)}/${backupDir(configurationName)}`;
    const names: string[] = [];
    try {
      let page = (await this.call(dbx, (d) => d.filesListFolder({ path }), 'list_folder')).result;
      for (;;) {
        for (const e of page.entries) if (e['.tag'] === 'file' && !e.name.startsWith('.probe-')) names.push(e.name);
        if (!page.has_more) break;
        const cursor = page.cursor;
        page = (await this.call(dbx, (d) => d.filesListFolderContinue({ cursor }), 'list_folder/continue')).result;
      }
    } catch (err) {
      if (err instanceof DeliveryError && err.code === 'notFound') return [];
      throw err;
    }
    return names.sort();
  }

  async remove(config: DropboxDestinationConfig, configurationName: string, fileName: string): Promise<void> {
    const dbx = this.client(config);
    const path = `${dropboxRoot(config)}/${backupDir(configurationName)}/${checkSegment('file name', fileName)}`;
    await this.call(dbx, (d) => d.filesDeleteV2({ path }), 'delete').catch((err: unknown) => {
      if (!(err instanceof DeliveryError && err.code === 'notFound')) throw err;
    });
  }

  async test(config: DropboxDestinationConfig): Promise<TestReport> {
    const steps: TestStep[] = [];
    let current = 'authorise';
    try {
      const dbx = this.client(config);
      const account = await this.call(dbx, (d) => d.usersGetCurrentAccount(), 'get_current_account');
      steps.push({ step: current, ok: true, detail: account.result.email });
      const probe = `${dropboxRoot(config)}/${BACKUP_FOLDER}/${probeName()}`;
      current = 'write probe file';
      await this.call(dbx, (d) => d.filesUpload({ path: probe, mode: { '.tag': 'overwrite' }, mute: true, contents: Buffer.from('pbx-backup probe\n') }), 'upload');
      steps.push({ step: current, ok: true });
      current = 'delete probe file';
      await this.call(dbx, (d) => d.filesDeleteV2({ path: probe }), 'delete');
      steps.push({ step: current, ok: true });
      return { ok: true, steps };
    } catch (err) {
      const e = err instanceof DeliveryError ? err : dropboxError(err, current);
      steps.push({ step: current, ok: false, detail: e.message });
      return { ok: false, steps, code: e.code };
    }
  }

  private client(config: DropboxDestinationConfig): Conn {
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
    return { dbx: new Dropbox({ auth, fetch: this.fetch }), auth };
  }

  /**
   * One API call; an access token Dropbox reports as expired (or revoked early) is refreshed
   * once and the call repeated. The SDK itself refreshes only by its own clock.
   */
  private async call<T>(conn: Conn, fn: (d: Dropbox) => Promise<T>, what: string): Promise<T> {
    try {
      return await fn(conn.dbx);
    } catch (err) {
      if (!(err instanceof DropboxResponseError) || err.status !== 401 || !summary(err).startsWith('expired_access_token')) throw dropboxError(err, what);
    }
    try {
      await conn.auth.refreshAccessToken();
      return await fn(conn.dbx);
    } catch (err) {
      throw dropboxError(err, what);
    }
  }

  private async uploadSingle(dbx: Conn, path: string, req: DeliveryRequest): Promise<{ size: number; content_hash?: string }> {
    // The body streams from disk (node-fetch accepts a stream): no whole-file buffer.
    const res = await this.call(
      dbx,
      (d) => d.filesUpload({ path, mode: { '.tag': 'overwrite' }, autorename: false, mute: true, contents: createReadStream(req.filePath, { highWaterMark: 1024 * 1024, signal: req.signal }) }),
      'upload',
    );
    return res.result;
  }

  /** start → append_v2… → finish, resuming at the server's offset after incorrect_offset. */
  private async uploadInSession(dbx: Conn, path: string, req: DeliveryRequest): Promise<{ size: number; content_hash?: string }> {
    const chunkBytes = this.options.chunkBytes ?? DEFAULT_CHUNK;
    const maxResumes = this.options.maxResumes ?? 5;
    const fh = await open(req.filePath, 'r');
    try {
      const buf = Buffer.allocUnsafe(chunkBytes);
      const start = await this.call(dbx, (d) => d.filesUploadSessionStart({ close: false, contents: Buffer.alloc(0) }), 'upload_session/start');
      const sessionId = start.result.session_id;
      let offset = 0;
      let resumes = 0;
      for (;;) {
        throwIfAborted(req.signal);
        const { bytesRead } = await fh.read(buf, 0, Math.min(chunkBytes, req.size - offset), offset);
        const contents = buf.subarray(0, bytesRead);
        const last = offset + bytesRead >= req.size;
        try {
          if (last) {
            const cursorOffset = offset;
            const res = await this.call(
              dbx,
              (d) =>
                d.filesUploadSessionFinish({
                  cursor: { session_id: sessionId, offset: cursorOffset },
                  commit: { path, mode: { '.tag': 'overwrite' }, autorename: false, mute: true },
                  contents,
                }),
              'upload_session/finish',
            );
            return res.result;
          }
          const cursorOffset = offset;
          await this.call(dbx, (d) => d.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset: cursorOffset }, close: false, contents }), 'upload_session/append_v2');
          offset += bytesRead;
          req.onProgress?.(offset);
        } catch (err) {
          const correct = err instanceof DeliveryError ? (err as DeliveryError & { correctOffset?: number }).correctOffset : undefined;
          if (correct === undefined || resumes >= maxResumes || correct > req.size) throw err;
          resumes++;
          offset = correct; // the server is the truth: continue from what it has
        }
      }
    } finally {
      await fh.close();
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

function classify(status: number, text: string): Exclude<DeliveryCode, 'successful'> {
  if (status === 401 || /invalid_grant|invalid_client|invalid_access_token|expired_access_token/.test(text)) return 'authFailed';
  if (/insufficient_space|insufficient_quota|storage_quota/.test(text)) return 'quotaExceeded';
  if (/no_write_permission|no_permission|team_folder|access_error|restricted_content|disallowed_name/.test(text)) return 'sftpRightProblem';
  if (/not_found|malformed_path/.test(text)) return 'notFound';
  if (status === 429 || /too_many_(write_)?(requests|operations)|rate_limit/.test(text)) return 'timeout';
  if (status === 400 && /payload_too_large|too_large/.test(text)) return 'quotaExceeded';
  return 'ioError';
}

export function dropboxError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof DropboxResponseError) {
    const text = `${summary(err)} ${JSON.stringify(err.error ?? '')}`;
    const code = classify(err.status, text);
    const e = new DeliveryError(code, `Dropbox ${what}: HTTP ${err.status} ${summary(err)}`.trim(), undefined, { cause: err });
    const correct = findCorrectOffset(err.error);
    if (correct !== undefined) Object.assign(e, { correctOffset: correct });
    return e;
  }
  const code = (err as { code?: string })?.code;
  if (code === 'ABORT_ERR' || (err as { name?: string })?.name === 'AbortError') return new DeliveryError('timeout', `Dropbox ${what}: aborted`, false, { cause: err });
  if (code && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(code)) {
    return new DeliveryError('mountfail', `Dropbox ${what}: ${errorMessage(err)}`, false, { cause: err });
  }
  if (code === 'ETIMEDOUT') return new DeliveryError('timeout', `Dropbox ${what}: ${errorMessage(err)}`, false, { cause: err });
  return new DeliveryError('ioError', `Dropbox ${what}: ${errorMessage(err)}`, false, { cause: err });
}

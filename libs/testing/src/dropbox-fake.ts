import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * An HTTP fake of the Dropbox API endpoints the `dropbox` SDK uses for backups, storing
 * files in a temp dir. Point the SDK at it by rewriting https://{api,content}.dropboxapi.com
 * to `url` (see the destinations lib). Runs inside a test or as its own process
 * (`startDropboxFake({ port })`).
 *
 * It follows Dropbox's wire rules: a folder or file in the way of a commit is 409
 * `path/conflict/folder|file_ancestor`, a name Dropbox refuses is `path/disallowed_name`, a
 * request body above 150 MB is 409 `payload_too_large`, a full account (`setQuota`) is
 * `path/insufficient_space`, a read-only folder (`denyWrites`) is `path/no_write_permission`,
 * an unknown or expired session is `not_found` (`lookup_failed/not_found` at finish), and a
 * wrong offset is `incorrect_offset` with the server's `correct_offset`. Requests are applied
 * whole or not at all, as Dropbox does. `/2/files/download` (a content endpoint: the argument in
 * the `Dropbox-API-Arg` header, an empty body) answers the file's bytes as
 * `application/octet-stream` with its metadata in the `Dropbox-API-Result` header (JSON, non-ASCII
 * escaped as `\uXXXX` like the argument must be), a `Range: bytes=` request 206 with that part;
 * a missing path is 409 `path/not_found`, a folder `path/not_file`.
 *
 * Fault injection: `expireAccessTokens()` makes every issued access token answer
 * 401 expired_access_token (the client must refresh); `failNext(endpoint, fault, times)`
 * makes the next calls of an endpoint answer 429 with Retry-After, a 5xx, a status such as
 * 413, a write error, or drop the connection mid-body (nothing stored) or after the request
 * was applied (the response is lost); `expireSessions()` forgets every open upload session.
 * `failNextAppend(lostBytes)` (older tests) makes the session lose its last bytes, which
 * Dropbox itself never does.
 */
export interface DropboxFakeOptions {
  port?: number;
  host?: string;
  /** Where files are stored; default a new temp dir (removed by close()). */
  root?: string;
  appKey?: string;
  appSecret?: string;
  /** Lifetime of issued access tokens (seconds), reported as expires_in. */
  accessTokenTtlSeconds?: number;
  /** Largest request body Dropbox accepts on a content endpoint: 150 MB. */
  maxRequestBytes?: number;
  /** How long an idle connection is kept (Node's default 5 s); sent to clients as the Keep-Alive hint. */
  keepAliveTimeoutMs?: number;
}

/** Endpoints below /2/files/ that faults can be aimed at. */
export type DropboxFakeEndpoint = 'upload' | 'upload_session/start' | 'upload_session/append_v2' | 'upload_session/finish' | 'get_metadata' | 'list_folder' | 'delete_v2' | 'download';

/** WriteError reasons (409 `path/<reason>`; at finish `too_many_write_operations` is its own tag). */
export type DropboxWriteReason =
  | 'insufficient_space'
  | 'no_write_permission'
  | 'disallowed_name'
  | 'conflict/file'
  | 'conflict/folder'
  | 'conflict/file_ancestor'
  | 'malformed_path'
  | 'too_many_write_operations';

export type DropboxFakeFault =
  /** 429 with `Retry-After` and `retry_after` (RateLimitError). */
  | { kind: 'rateLimit'; retryAfterSeconds: number; reason?: 'too_many_requests' | 'too_many_write_operations' }
  /** A 5xx with a plain-text body, as Dropbox's front ends answer; `Retry-After` when given. */
  | { kind: 'serverError'; status?: 500 | 502 | 503 | 504; retryAfterSeconds?: number }
  /** Any other status with a plain-text body (e.g. 413 from the front end). */
  | { kind: 'status'; status: number; body?: string }
  /** A 409 endpoint error for a WriteError reason. */
  | { kind: 'writeError'; reason: DropboxWriteReason }
  /**
   * The socket is destroyed: after `afterBytes` of the body (nothing is applied), or with
   * `afterApplied` once the request was applied but before the response (the client must
   * learn the outcome from the next call, e.g. incorrect_offset).
   */
  | { kind: 'dropConnection'; afterBytes?: number; afterApplied?: boolean }
  /** The body is read and nothing is ever answered (until the client gives up or close()). */
  | { kind: 'stall' }
  /** The request is answered normally, `ms` later (a slow commit). */
  | { kind: 'slow'; ms: number };

export interface DropboxFakeStats {
  codeExchanges: number;
  refreshes: number;
  uploads: number;
  sessionStarts: number;
  appends: number;
  finishes: number;
  expiredRejections: number;
  incorrectOffsets: number;
  /** Files answered by /2/files/download (whole or a range). */
  downloads: number;
  /** Body bytes read on upload endpoints, whatever became of them (the wire count). */
  bytesReceived: number;
  /** Body bytes that became part of a session or an uploaded file. */
  bytesStored: number;
  rateLimited: number;
  serverErrors: number;
  droppedConnections: number;
  stalls: number;
  /** 409 endpoint errors answered (conflicts, write errors, expired sessions, ...). */
  endpointErrors: number;
}

export interface DropboxFake {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Directory holding the stored files (Dropbox path "/a/b" is `<root>/a/b`). */
  root: string;
  appKey: string;
  appSecret: string;
  stats: DropboxFakeStats;
  /** A fresh one-time authorization code, as a user would paste it from the Dropbox consent page. */
  issueAuthorizationCode(): string;
  /** A refresh token the fake accepts (as if a code had been exchanged earlier). */
  issueRefreshToken(): string;
  /** Every access token issued so far now gets 401 expired_access_token. */
  expireAccessTokens(): void;
  /** The next append_v2/finish loses the session's last `lostBytes` bytes and answers incorrect_offset. */
  failNextAppend(lostBytes: number): void;
  /** The next `times` calls of `endpoint` misbehave as `fault` says (queued after earlier ones). */
  failNext(endpoint: DropboxFakeEndpoint, fault: DropboxFakeFault, times?: number): void;
  /** Every open upload session expires (Dropbox keeps them 7 days): later calls get not_found. */
  expireSessions(): void;
  /** Writes below this Dropbox path get `path/no_write_permission` (null: none refused). */
  denyWrites(pathPrefix: string | null): void;
  /** Account size in bytes: commits that would exceed it get `path/insufficient_space` (null: unlimited). */
  setQuota(bytes: number | null): void;
  /** Local path of a stored Dropbox path. */
  localPath(dropboxPath: string): string;
  close(): Promise<void>;
}

interface Session {
  file: string;
  offset: number;
  closed: boolean;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

function dbxError(status: number, summary: string, error: unknown): ApiError {
  return new ApiError(status, { error_summary: `${summary}/..`, error });
}

const BLOCK = 4 * 1024 * 1024;
/** Names Dropbox will not store (its "files that won't sync" list). */
const DISALLOWED_NAMES = new Set(['desktop.ini', 'thumbs.db', '.ds_store', 'icon\r', '.dropbox', '.dropbox.attr']);
/** Thrown when the fake hung up: nothing is answered. */
const HUNG_UP = Symbol('hung up');

/** A download's answer: the file (or a byte range of it) and its metadata for the Dropbox-API-Result header. */
class Download {
  constructor(
    readonly file: string,
    readonly meta: Record<string, unknown>,
    readonly range: { start: number; end: number } | null,
  ) {}
}

/** An HTTP header carries ASCII only: Dropbox escapes every other character of its JSON as \uXXXX. */
const headerJson = (value: unknown): string => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Dropbox content_hash: sha256 over the concatenated sha256 of every 4 MiB block. */
export async function dropboxContentHash(file: string): Promise<string> {
  const overall = createHash('sha256');
  let block = createHash('sha256');
  let inBlock = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    let buf = chunk as Buffer;
    while (buf.length) {
      const take = Math.min(BLOCK - inBlock, buf.length);
      block.update(buf.subarray(0, take));
      inBlock += take;
      buf = buf.subarray(take);
      if (inBlock === BLOCK) {
        overall.update(block.digest());
        block = createHash('sha256');
        inBlock = 0;
      }
    }
  }
  if (inBlock > 0) overall.update(block.digest());
  return overall.digest('hex');
}

export async function startDropboxFake(options: DropboxFakeOptions = {}): Promise<DropboxFake> {
  const ownRoot = !options.root;
  const base = options.root ?? (await mkdtemp(join(tmpdir(), 'dropbox-fake-')));
  const root = join(base, 'files');
  const staging = join(base, 'staging');
  await mkdir(root, { recursive: true });
  await mkdir(staging, { recursive: true });
  const appKey = options.appKey ?? 'fake-app-key';
  const appSecret = options.appSecret ?? 'fake-app-secret';
  const ttl = options.accessTokenTtlSeconds ?? 14_400;
  const maxRequestBytes = options.maxRequestBytes ?? 150_000_000;

  const codes = new Set<string>();
  const refreshTokens = new Set<string>();
  const accessTokens = new Map<string, { expired: boolean }>();
  const sessions = new Map<string, Session>();
  let pendingLoss: number | null = null;
  const faults = new Map<DropboxFakeEndpoint, DropboxFakeFault[]>();
  let deniedPrefix: string | null = null;
  let quota: number | null = null;
  const stats: DropboxFakeStats = {
    codeExchanges: 0,
    downloads: 0,
    refreshes: 0,
    uploads: 0,
    sessionStarts: 0,
    appends: 0,
    finishes: 0,
    expiredRejections: 0,
    incorrectOffsets: 0,
    bytesReceived: 0,
    bytesStored: 0,
    rateLimited: 0,
    serverErrors: 0,
    droppedConnections: 0,
    stalls: 0,
    endpointErrors: 0,
  };

  const token = (prefix: string) => `${prefix}.${randomBytes(18).toString('base64url')}`;

  const localPath = (dropboxPath: string): string => {
    const normalized = posix.normalize(`/${dropboxPath}`);
    if (normalized.split('/').includes('..')) throw dbxError(400, 'path/malformed_path', { '.tag': 'path', path: { '.tag': 'malformed_path' } });
    return join(root, normalized);
  };

  const checkPath = (p: unknown): string => {
    if (typeof p !== 'string' || (p !== '' && !p.startsWith('/'))) {
      throw new ApiError(400, `Error in call: invalid path ${JSON.stringify(p)}`);
    }
    return p;
  };

  async function metadata(dropboxPath: string): Promise<Record<string, unknown> | null> {
    const file = localPath(dropboxPath);
    const st = await stat(file).catch(() => null);
    if (!st) return null;
    const name = posix.basename(dropboxPath);
    if (st.isDirectory()) {
      return { '.tag': 'folder', name, path_lower: dropboxPath.toLowerCase(), path_display: dropboxPath, id: `id:${createHash('md5').update(dropboxPath).digest('hex')}` };
    }
    return {
      '.tag': 'file',
      name,
      path_lower: dropboxPath.toLowerCase(),
      path_display: dropboxPath,
      id: `id:${createHash('md5').update(dropboxPath).digest('hex')}`,
      client_modified: st.mtime.toISOString().replace(/\.\d+Z$/, 'Z'),
      server_modified: st.mtime.toISOString().replace(/\.\d+Z$/, 'Z'),
      rev: `0${Math.floor(st.mtimeMs).toString(16)}`,
      size: st.size,
      is_downloadable: true,
      content_hash: await dropboxContentHash(file),
    };
  }

  function authorize(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(header);
    const entry = m ? accessTokens.get(m[1]!) : undefined;
    if (!entry) throw dbxError(401, 'invalid_access_token', { '.tag': 'invalid_access_token' });
    if (entry.expired) {
      stats.expiredRejections++;
      throw dbxError(401, 'expired_access_token', { '.tag': 'expired_access_token' });
    }
  }

  async function readBodyRaw(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const body = await readBodyRaw(req);
    if (isContentRoute(req)) stats.bytesReceived += body.length;
    return body;
  }

  const isContentRoute = (req: IncomingMessage) => /^\/2\/files\/upload/.test(req.url ?? '');

  /** Reads (and drops) `n` body bytes, then hangs up: the request is not applied. */
  async function hangUpAfter(req: IncomingMessage, n: number): Promise<never> {
    const socket = req.socket;
    let seen = 0;
    await new Promise<void>((resolve) => {
      if (n <= 0) return resolve();
      req.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen >= n) resolve();
      });
      req.once('end', resolve);
      req.once('error', () => resolve());
    });
    stats.bytesReceived += seen;
    stats.droppedConnections++;
    socket.destroy();
    throw HUNG_UP;
  }

  function endpointError(status: number, summary: string, error: unknown): ApiError {
    stats.endpointErrors++;
    return dbxError(status, summary, error);
  }

  /** A WriteError as files/upload (UploadError `path`) or upload_session/finish (`path`) wraps it. */
  function writeError(reason: DropboxWriteReason, at: 'upload' | 'finish'): ApiError {
    if (reason === 'too_many_write_operations' && at === 'finish') return endpointError(409, 'too_many_write_operations', { '.tag': 'too_many_write_operations' });
    const [tag, sub] = reason.split('/') as [string, string | undefined];
    const inner = sub ? { '.tag': tag, [tag]: { '.tag': sub } } : { '.tag': tag };
    return endpointError(409, `path/${reason}`, at === 'upload' ? { '.tag': 'path', reason: inner, upload_session_id: '' } : { '.tag': 'path', path: inner });
  }

  /** Applies an injected fault that answers before the request runs; `afterApplied` drops are returned. */
  async function injectedFault(req: IncomingMessage, endpoint: DropboxFakeEndpoint): Promise<DropboxFakeFault | undefined> {
    const fault = faults.get(endpoint)?.shift();
    if (!fault) return undefined;
    switch (fault.kind) {
      case 'rateLimit': {
        stats.rateLimited++;
        const reason = fault.reason ?? 'too_many_requests';
        throw new ApiError(
          429,
          { error_summary: `${reason}/..`, error: { reason: { '.tag': reason }, retry_after: fault.retryAfterSeconds } },
          { 'retry-after': String(fault.retryAfterSeconds) },
        );
      }
      case 'serverError':
        stats.serverErrors++;
        throw new ApiError(fault.status ?? 503, 'Service Unavailable', fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {});
      case 'status':
        throw new ApiError(fault.status, fault.body ?? `HTTP ${fault.status}`);
      case 'writeError':
        if (endpoint === 'upload' || endpoint === 'upload_session/finish') throw writeError(fault.reason, endpoint === 'upload' ? 'upload' : 'finish');
        throw endpointError(409, `path/${fault.reason}`, { '.tag': 'path', path: { '.tag': fault.reason } });
      case 'dropConnection':
        if (fault.afterApplied) return fault;
        return hangUpAfter(req, fault.afterBytes ?? 0);
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        return undefined;
      case 'stall':
        stats.bytesReceived += (await readBodyRaw(req)).length;
        stats.stalls++;
        throw HUNG_UP;
    }
  }

  /** Bytes stored below the root, for the quota. */
  async function usedBytes(dir = root): Promise<number> {
    let total = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      total += entry.isDirectory() ? await usedBytes(full) : (await stat(full)).size;
    }
    return total;
  }

  /** Dropbox's rules for writing `path`, checked at commit. */
  async function checkWrite(path: string, size: number, replacing: number, at: 'upload' | 'finish'): Promise<void> {
    const segments = path.split('/').filter(Boolean);
    const name = segments.at(-1) ?? '';
    if (DISALLOWED_NAMES.has(name.toLowerCase())) throw writeError('disallowed_name', at);
    if (deniedPrefix !== null && (path.toLowerCase() + '/').startsWith(deniedPrefix.toLowerCase().replace(/\/*$/, '/'))) throw writeError('no_write_permission', at);
    for (let i = 1; i < segments.length; i++) {
      const st = await stat(localPath(`/${segments.slice(0, i).join('/')}`)).catch(() => null);
      if (st?.isFile()) throw writeError('conflict/file_ancestor', at);
      if (!st) break;
    }
    if ((await stat(localPath(path)).catch(() => null))?.isDirectory()) throw writeError('conflict/folder', at);
    if (quota !== null && (await usedBytes()) - replacing + size > quota) throw writeError('insufficient_space', at);
  }

  /** UploadError, UploadSessionAppendError and UploadSessionFinishError all have this tag. */
  const tooLarge = () => endpointError(409, 'payload_too_large', { '.tag': 'payload_too_large' });

  function apiArg(req: IncomingMessage): Record<string, unknown> {
    const raw = req.headers['dropbox-api-arg'];
    if (typeof raw !== 'string') throw new ApiError(400, 'Error in call: missing Dropbox-API-Arg');
    return JSON.parse(raw) as Record<string, unknown>;
  }

  async function jsonArg(req: IncomingMessage): Promise<Record<string, unknown>> {
    const body = await readBody(req);
    return body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
  }

  /**
   * Streams the request body onto the end of `file`; a body cut short or too large
   * (payload_too_large) is cut off again, so a failed request changes nothing, as on Dropbox.
   */
  async function appendBody(req: IncomingMessage, file: string): Promise<number> {
    const before = (await stat(file).catch(() => null))?.size ?? 0;
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    try {
      await pipeline(req, createWriteStream(file, { flags: 'a' }));
      if (n > maxRequestBytes) throw tooLarge();
      return n;
    } catch (err) {
      await truncate(file, before).catch(() => undefined);
      throw err;
    } finally {
      stats.bytesReceived += n;
    }
  }

  async function commit(tmpFile: string, commitArg: Record<string, unknown>, at: 'upload' | 'finish'): Promise<Record<string, unknown>> {
    const path = checkPath(commitArg.path);
    const dest = localPath(path);
    const mode = (commitArg.mode as { '.tag'?: string } | string | undefined) ?? 'add';
    const modeTag = typeof mode === 'string' ? mode : mode['.tag'];
    const existing = await stat(dest).catch(() => null);
    await checkWrite(path, (await stat(tmpFile)).size, existing?.isFile() ? existing.size : 0, at);
    if (modeTag !== 'overwrite' && existing) throw writeError('conflict/file', at);
    await mkdir(dirname(dest), { recursive: true });
    await rename(tmpFile, dest);
    return (await metadata(path))!;
  }

  function session(cursor: unknown, wrapInLookup: boolean): Session & { id: string; clientOffset: number } {
    const c = cursor as { session_id?: string; offset?: number };
    const s = c?.session_id ? sessions.get(c.session_id) : undefined;
    if (!s) {
      throw endpointError(409, wrapInLookup ? 'lookup_failed/not_found' : 'not_found', wrapInLookup ? { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_found' } } : { '.tag': 'not_found' });
    }
    return Object.assign(s, { id: c.session_id!, clientOffset: Number(c.offset) });
  }

  /** Offset check shared by append_v2 and finish, with the injected data loss. */
  async function checkOffset(s: Session & { clientOffset: number }, wrapInLookup: boolean): Promise<void> {
    if (pendingLoss !== null) {
      const lost = Math.min(pendingLoss, s.offset);
      pendingLoss = null;
      s.offset -= lost;
      await truncate(s.file, s.offset);
      stats.incorrectOffsets++;
      const err = { '.tag': 'incorrect_offset', correct_offset: s.offset };
      throw dbxError(409, wrapInLookup ? 'lookup_failed/incorrect_offset' : 'incorrect_offset', wrapInLookup ? { '.tag': 'lookup_failed', lookup_failed: err } : err);
    }
    if (s.clientOffset !== s.offset) {
      stats.incorrectOffsets++;
      const err = { '.tag': 'incorrect_offset', correct_offset: s.offset };
      throw dbxError(409, wrapInLookup ? 'lookup_failed/incorrect_offset' : 'incorrect_offset', wrapInLookup ? { '.tag': 'lookup_failed', lookup_failed: err } : err);
    }
    if (s.closed) throw endpointError(409, wrapInLookup ? 'lookup_failed/closed' : 'closed', wrapInLookup ? { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'closed' } } : { '.tag': 'closed' });
  }

  async function tokenEndpoint(req: IncomingMessage, url: URL): Promise<unknown> {
    const body = await readBody(req);
    const params = new URLSearchParams(url.search);
    const text = body.toString('utf8');
    if (text) {
      if ((req.headers['content-type'] ?? '').includes('json')) {
        for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, string>)) params.set(k, String(v));
      } else {
        for (const [k, v] of new URLSearchParams(text)) params.set(k, v);
      }
    }
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [basicId, basicSecret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [];
    const clientId = params.get('client_id') ?? basicId;
    const clientSecret = params.get('client_secret') ?? basicSecret;
    if (clientId !== appKey || clientSecret !== appSecret) {
      throw new ApiError(400, { error: 'invalid_client', error_description: 'Invalid client_id or client_secret' });
    }
    const issueAccess = () => {
      const access = token('sl');
      accessTokens.set(access, { expired: false });
      return access;
    };
    switch (params.get('grant_type')) {
      case 'authorization_code': {
        const code = params.get('code') ?? '';
        if (!codes.delete(code)) throw new ApiError(400, { error: 'invalid_grant', error_description: 'code doesn\'t exist or has expired' });
        stats.codeExchanges++;
        const refresh = token('rt');
        refreshTokens.add(refresh);
        return { access_token: issueAccess(), token_type: 'bearer', expires_in: ttl, refresh_token: refresh, scope: 'files.content.write files.content.read account_info.read', uid: '12345', account_id: 'dbid:fake-account' };
      }
      case 'refresh_token': {
        if (!refreshTokens.has(params.get('refresh_token') ?? '')) throw new ApiError(400, { error: 'invalid_grant', error_description: 'refresh token is malformed' });
        stats.refreshes++;
        return { access_token: issueAccess(), token_type: 'bearer', expires_in: ttl };
      }
      default:
        throw new ApiError(400, { error: 'unsupported_grant_type' });
    }
  }

  /** The request's answer; `hangUp` when an injected fault loses the response after applying it. */
  async function handle(req: IncomingMessage, url: URL): Promise<{ result: unknown; hangUp?: boolean }> {
    const route = url.pathname;
    if (req.method !== 'POST') throw new ApiError(405, 'POST only');
    if (route === '/oauth2/token') return { result: await tokenEndpoint(req, url) };
    authorize(req);
    const endpoint = route.startsWith('/2/files/') ? (route.slice('/2/files/'.length) as DropboxFakeEndpoint) : undefined;
    const fault = endpoint ? await injectedFault(req, endpoint) : undefined;
    const result = await apply(req, route);
    if (fault?.kind === 'dropConnection') {
      stats.droppedConnections++;
      return { result, hangUp: true };
    }
    return { result };
  }

  async function apply(req: IncomingMessage, route: string): Promise<unknown> {
    switch (route) {
      case '/2/users/get_current_account':
        await readBody(req);
        return { account_id: 'dbid:fake-account', name: { display_name: 'Fake User' }, email: 'fake@example.test', email_verified: true, disabled: false };
      case '/2/files/upload': {
        const arg = apiArg(req);
        checkPath(arg.path);
        const tmp = join(staging, randomBytes(8).toString('hex'));
        try {
          const n = await appendBody(req, tmp);
          const meta = await commit(tmp, arg, 'upload');
          stats.bytesStored += n;
          stats.uploads++;
          return meta;
        } finally {
          await rm(tmp, { force: true });
        }
      }
      case '/2/files/upload_session/start': {
        const arg = apiArg(req);
        const id = `sess-${randomBytes(8).toString('hex')}`;
        const file = join(staging, id);
        await writeFile(file, '');
        const n = await appendBody(req, file);
        stats.bytesStored += n;
        sessions.set(id, { file, offset: n, closed: arg.close === true });
        stats.sessionStarts++;
        return { session_id: id };
      }
      case '/2/files/upload_session/append_v2': {
        const arg = apiArg(req);
        const s = session(arg.cursor, false);
        try {
          await checkOffset(s, false);
        } catch (err) {
          await readBody(req);
          throw err;
        }
        const n = await appendBody(req, s.file);
        s.offset += n;
        stats.bytesStored += n;
        s.closed = arg.close === true;
        stats.appends++;
        return null;
      }
      case '/2/files/upload_session/finish': {
        const arg = apiArg(req);
        const s = session(arg.cursor, true);
        try {
          await checkOffset(s, true);
        } catch (err) {
          await readBody(req);
          throw err;
        }
        const n = await appendBody(req, s.file);
        let meta: Record<string, unknown>;
        try {
          meta = await commit(s.file, arg.commit as Record<string, unknown>, 'finish');
        } catch (err) {
          // A refused commit applies nothing: the session stays as it was, open for another finish.
          await truncate(s.file, s.offset);
          throw err;
        }
        stats.bytesStored += n;
        sessions.delete(s.id);
        stats.finishes++;
        return meta;
      }
      case '/2/files/download': {
        const arg = apiArg(req);
        await readBody(req);
        const path = checkPath(arg.path);
        const meta = await metadata(path);
        if (!meta) throw dbxError(409, 'path/not_found/', { '.tag': 'path', path: { '.tag': 'not_found' } });
        if (meta['.tag'] !== 'file') throw dbxError(409, 'path/not_file/', { '.tag': 'path', path: { '.tag': 'not_file' } });
        const size = meta.size as number;
        const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
        let range: Download['range'] = null;
        if (m && (m[1] || m[2])) {
          const start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
          const end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
          if (start >= size || start > end) throw new ApiError(416, 'Requested Range Not Satisfiable', { 'content-range': `bytes */${size}` });
          range = { start, end };
        }
        stats.downloads++;
        return new Download(localPath(path), meta, range);
      }
      case '/2/files/get_metadata': {
        const arg = await jsonArg(req);
        const meta = await metadata(checkPath(arg.path));
        if (!meta) throw dbxError(409, 'path/not_found', { '.tag': 'path', path: { '.tag': 'not_found' } });
        return meta;
      }
      case '/2/files/list_folder': {
        const arg = await jsonArg(req);
        const path = checkPath(arg.path);
        const dir = localPath(path);
        const st = await stat(dir).catch(() => null);
        if (!st?.isDirectory()) throw dbxError(409, 'path/not_found', { '.tag': 'path', path: { '.tag': 'not_found' } });
        const entries = [];
        for (const name of (await readdir(dir)).sort()) entries.push(await metadata(posix.join(path || '/', name)));
        return { entries, cursor: `cursor-${randomBytes(4).toString('hex')}`, has_more: false };
      }
      case '/2/files/list_folder/continue':
        await readBody(req);
        return { entries: [], cursor: `cursor-${randomBytes(4).toString('hex')}`, has_more: false };
      case '/2/files/delete_v2': {
        const arg = await jsonArg(req);
        const path = checkPath(arg.path);
        const meta = await metadata(path);
        if (!meta) throw dbxError(409, 'path_lookup/not_found', { '.tag': 'path_lookup', path_lookup: { '.tag': 'not_found' } });
        await rm(localPath(path), { recursive: true, force: true });
        return { metadata: meta };
      }
      case '/2/files/move_v2': {
        const arg = await jsonArg(req);
        const from = checkPath(arg.from_path);
        const to = checkPath(arg.to_path);
        if (!(await metadata(from))) throw dbxError(409, 'from_lookup/not_found', { '.tag': 'from_lookup', from_lookup: { '.tag': 'not_found' } });
        await mkdir(dirname(localPath(to)), { recursive: true });
        await rename(localPath(from), localPath(to));
        return { metadata: await metadata(to) };
      }
      default:
        await readBody(req);
        throw new ApiError(404, `Unknown endpoint ${route}`);
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    handle(req, url).then(
      ({ result, hangUp }) => {
        if (hangUp) {
          req.socket.destroy();
          return;
        }
        if (result instanceof Download) {
          const size = result.meta.size as number;
          const { start, end } = result.range ?? { start: 0, end: size - 1 };
          res.writeHead(result.range ? 206 : 200, {
            'content-type': 'application/octet-stream',
            'content-length': String(size === 0 ? 0 : end - start + 1),
            'dropbox-api-result': headerJson(result.meta),
            ...(result.range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
          });
          if (size === 0) res.end();
          else pipeline(createReadStream(result.file, { start, end }), res).catch(() => res.destroy());
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(result));
      },
      (err: unknown) => {
        if (err === HUNG_UP) return;
        req.resume();
        const status = err instanceof ApiError ? err.status : 500;
        const body = err instanceof ApiError ? err.body : { error_summary: 'internal_error/', error: String(err) };
        res.writeHead(status, { ...(err instanceof ApiError ? err.headers : {}), 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      },
    );
  });
  server.requestTimeout = 0;
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    root,
    appKey,
    appSecret,
    stats,
    issueAuthorizationCode() {
      const code = token('code');
      codes.add(code);
      return code;
    },
    issueRefreshToken() {
      const refresh = token('rt');
      refreshTokens.add(refresh);
      return refresh;
    },
    expireAccessTokens() {
      for (const entry of accessTokens.values()) entry.expired = true;
    },
    failNextAppend(lostBytes: number) {
      pendingLoss = lostBytes;
    },
    failNext(endpoint, fault, times = 1) {
      const queue = faults.get(endpoint) ?? [];
      for (let i = 0; i < times; i++) queue.push(fault);
      faults.set(endpoint, queue);
    },
    expireSessions() {
      sessions.clear();
    },
    denyWrites(pathPrefix) {
      deniedPrefix = pathPrefix;
    },
    setQuota(bytes) {
      quota = bytes;
    },
    localPath,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownRoot) await rm(base, { recursive: true, force: true });
    },
  };
}

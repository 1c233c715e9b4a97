/**
 * Body of the isolated @marsaud/smb2 worker process. It runs in a separate Node process
 * (started with --openssl-legacy-provider for the library's MD4/DES NTLMv1 code), so the
 * library's asynchronous throws can only kill the worker, never the caller.
 *
 * This function is serialised with Function.prototype.toString() into a worker file, so it
 * must be self-contained: no imports, no references to anything outside its own body.
 */
export function legacySmb2WorkerMain(smb2Main: string): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  interface Smb2File {
    FileId: Buffer;
    /** CREATE response fields (little-endian). */
    EndofFile: Buffer;
    FileAttributes: Buffer;
  }
  interface Smb2Client {
    mkdir(path: string): Promise<void>;
    open(path: string, flags: string): Promise<Smb2File>;
    write(file: Smb2File, buffer: Buffer, offset: undefined, length: undefined, start: number): Promise<unknown>;
    read(file: Smb2File, buffer: Buffer, offset: number, length: number, start: number): Promise<{ bytesRead: number; buffer: Buffer }>;
    close(file: Smb2File): Promise<void>;
    rename(from: string, to: string, options: { replace: boolean }): Promise<void>;
    getSize(path: string): Promise<number>;
    unlink(path: string): Promise<void>;
    readdir(path: string, options: { stats: true }): Promise<{ name: string; size: number; mtime?: Date; isDirectory(): boolean }[]>;
    disconnect(): void;
    /** Where the library's socket connects (parsed from the UNC share, set before connecting). */
    ip: string;
    socket: import('node:net').Socket;
  }
  interface Connection {
    responses: Record<string, unknown>;
    responsesCB: Record<string, (msg: unknown) => void>;
    responseBuffer: Buffer;
  }
  interface Request {
    op: 'deliver' | 'list' | 'remove' | 'probe' | 'read';
    target: { server: string; address: string; port: number; share: string; username: string; domain?: string; password: string };
    filePath?: string;
    size?: number;
    dirLevels?: string[];
    tmpPath?: string;
    finalPath?: string;
    debris?: string[];
    path?: string;
    /** `read`: also write the copy to this local file (0600). */
    copyTo?: string;
    concurrency?: number;
  }

  const fs = require('node:fs/promises') as typeof import('node:fs/promises');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const pathMod = require('node:path') as typeof import('node:path');
  const libDir = pathMod.dirname(smb2Main);
  type Smb2Request = (name: string, params: unknown, c: Connection, cb: (err: unknown, ...rest: unknown[]) => void) => void;
  const forge = require(pathMod.join(libDir, 'tools/smb2-forge')) as { response: (c: Connection) => (data: Buffer) => void; request: Smb2Request };

  // Until the server has agreed on a dialect, every failure (refused, reset, silence, junk, no
  // common dialect) is the caller's one connection failure. The library's modules keep their own
  // reference to `request`, so it is wrapped before they are loaded.
  let connecting = true;
  const request = forge.request;
  forge.request = (name, params, c, cb) =>
    request(name, params, c, (err, ...rest) => {
      if (!err && name === 'negotiate') connecting = false;
      cb(err, ...rest);
    });
  const SMB2 = require(smb2Main) as new (opts: Record<string, unknown>) => Smb2Client;
  const SMB2Message = require(pathMod.join(libDir, 'tools/smb2-message')) as new () => {
    parseBuffer(b: Buffer): void;
    getHeaders(): { MessageId: Buffer };
  };
  const { MAX_WRITE_LENGTH: MAX_WRITE, MAX_READ_LENGTH: MAX_READ } = require(pathMod.join(libDir, 'structures/constants')) as { MAX_WRITE_LENGTH: number; MAX_READ_LENGTH: number };
  const autoPromise = require(pathMod.join(libDir, 'tools/auto-promise')) as <T>(fn: (...args: never[]) => void) => (this: Smb2Client, ...args: unknown[]) => Promise<T>;
  const SMB2Connection = require(pathMod.join(libDir, 'tools/smb2-connection')) as { requireConnect(fn: (this: Connection, ...args: never[]) => void): (...args: never[]) => void };
  /**
   * Opens a file for reading only, with the CREATE the library's own createReadStream/readFile
   * send (FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE, shared for read/write/delete).
   * Its public open() asks for write and delete access too, which a read-only share or file
   * refuses (STATUS_ACCESS_DENIED).
   */
  const openForReading = autoPromise<Smb2File>(
    SMB2Connection.requireConnect(function (this: Connection, path: string, cb: (err: unknown, file?: unknown) => void) {
      forge.request('open', { path }, this, cb);
    }),
  );

  const send = (msg: Record<string, unknown>): void => {
    process.send?.(msg);
  };
  const fail = (err: unknown): void => {
    const e = err as { code?: string; message?: string };
    send({ type: 'error', code: typeof e?.code === 'string' ? e.code : undefined, message: String(e?.message ?? err), connecting, local: (err as { local?: boolean })?.local === true });
    setImmediate(() => process.exit(1));
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // The IPC channel closes when the parent dies (even by SIGKILL): stop instead of finishing an
  // upload nobody will rename or record.
  process.on('disconnect', () => process.exit(1));

  // Fix (upstream issue #78): with async I/O the server first answers a slow request with an
  // interim STATUS_PENDING (0x103) and later sends the real answer under the same MessageId.
  // The stock parser hands the interim reply to the caller as an error; drop it instead.
  const STATUS_PENDING = 0x00000103;
  forge.response = function (c: Connection) {
    c.responses = {};
    c.responsesCB = {};
    c.responseBuffer = Buffer.alloc(0);
    return function (data: Buffer) {
      c.responseBuffer = Buffer.concat([c.responseBuffer, data]);
      while (c.responseBuffer.length >= 4) {
        const len = (c.responseBuffer.readUInt8(1) << 16) + c.responseBuffer.readUInt16BE(2);
        if (c.responseBuffer.length < len + 4) break;
        const raw = c.responseBuffer.subarray(4, len + 4);
        c.responseBuffer = c.responseBuffer.subarray(len + 4);
        if (raw.length >= 12 && raw.readUInt32LE(8) === STATUS_PENDING) continue;
        const message = new SMB2Message();
        message.parseBuffer(raw);
        const id = message.getHeaders().MessageId.toString('hex');
        const cb = c.responsesCB[id];
        if (cb) {
          delete c.responsesCB[id];
          cb(message);
        } else {
          c.responses[id] = message;
        }
      }
    };
  };

  const win = (p: string): string => p.replace(/\//g, '\\');

  async function mkdirs(client: Smb2Client, levels: string[]): Promise<void> {
    // The library cannot create nested folders in one go: one level at a time.
    for (const level of levels) {
      await client.mkdir(win(level)).catch((err: { code?: string }) => {
        if (err?.code !== 'STATUS_OBJECT_NAME_COLLISION') throw err;
      });
    }
  }

  async function upload(client: Smb2Client, req: Request, remote: string): Promise<void> {
    const fh = await fs.open(req.filePath!, 'r');
    // flags 'w' = FILE_OVERWRITE_IF (the default 'wx' fails on an existing file).
    const file = await client.open(win(remote), 'w');
    try {
      const chunk = Buffer.allocUnsafe(MAX_WRITE * (req.concurrency ?? 16));
      let position = 0;
      let lastReport = 0;
      for (;;) {
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        // Several WRITEs in flight: the library itself sends one 64 KiB request at a time.
        const writes: Promise<unknown>[] = [];
        for (let off = 0; off < bytesRead; off += MAX_WRITE) {
          const piece = Buffer.from(chunk.subarray(off, Math.min(off + MAX_WRITE, bytesRead)));
          writes.push(client.write(file, piece, undefined, undefined, position + off));
        }
        await Promise.all(writes);
        position += bytesRead;
        // Every MiB: the caller's idle clock (DESTINATION_IDLE_TIMEOUT_MS) runs on these reports.
        if (position - lastReport >= 1024 * 1024) {
          lastReport = position;
          send({ type: 'progress', bytes: position });
        }
      }
    } finally {
      await fh.close();
      // Close exactly once (the library's own streams close twice -> STATUS_FILE_CLOSED).
      await client.close(file);
    }
  }

  /** Errors of our own disk (writing `copyTo`), told apart from the server's. */
  const local = <T>(step: Promise<T>): Promise<T> =>
    step.catch((err: unknown) => {
      throw Object.assign(err as object, { local: true });
    });

  /**
   * Reads a stored copy back: sha256 and size, and with `copyTo` a local copy. Up to
   * `concurrency` 64 KiB READs in flight on one read-only handle, consumed in order, so memory
   * stays at concurrency × 64 KiB whatever the file's size. Not the library's createReadStream:
   * it closes the handle twice (an error after the last byte), and its single 16 KiB READ at a
   * time is latency-bound (see docs/destinations.md).
   */
  async function readBack(client: Smb2Client, req: Request): Promise<unknown> {
    let file: Smb2File;
    try {
      file = await openForReading.call(client, win(req.path!));
    } catch (err) {
      const code = (err as { code?: string })?.code;
      if (code === 'STATUS_OBJECT_NAME_NOT_FOUND' || code === 'STATUS_OBJECT_PATH_NOT_FOUND') return { missing: true };
      throw err;
    }
    let out: import('node:fs/promises').FileHandle | undefined;
    try {
      // FILE_ATTRIBUTE_DIRECTORY: a folder where the copy should be is no copy (as SFTP and local say).
      if (file.FileAttributes.readUInt32LE(0) & 0x10) return { missing: true };
      const size = Number(file.EndofFile.readBigUInt64LE(0));
      if (req.copyTo) out = await local(fs.open(req.copyTo, 'w', 0o600));
      const hash = crypto.createHash('sha256');
      const inFlight: { length: number; done: Promise<{ bytesRead: number; buffer: Buffer }> }[] = [];
      let next = 0;
      const issue = (): void => {
        const length = Math.min(MAX_READ, size - next);
        inFlight.push({ length, done: client.read(file, Buffer.allocUnsafe(length), 0, length, next) });
        next += length;
      };
      // Settled later, in order: a failing READ must not become an unhandled rejection meanwhile.
      const fill = (): void => {
        while (inFlight.length < (req.concurrency ?? 16) && next < size) {
          issue();
          inFlight.at(-1)!.done.catch(() => undefined);
        }
      };
      fill();
      let done = 0;
      let lastReport = 0;
      let writing: Promise<unknown> = Promise.resolve();
      while (inFlight.length) {
        const head = inFlight.shift()!;
        const { bytesRead, buffer } = await head.done;
        if (bytesRead !== head.length) throw Object.assign(new Error(`short read at ${done}: ${bytesRead} of ${head.length} bytes`), { code: 'EIO' });
        fill();
        hash.update(buffer);
        // One write in flight while the next piece is awaited and hashed.
        await writing;
        if (out) {
          writing = local(out.write(buffer, 0, bytesRead));
          // Seen at the next await; until then a failed write is no unhandled rejection.
          writing.catch(() => undefined);
        }
        done += bytesRead;
        if (done - lastReport >= 1024 * 1024) {
          lastReport = done;
          send({ type: 'progress', bytes: done });
        }
      }
      await writing;
      if (out) await local(out.close().finally(() => (out = undefined)));
      return { sha256: hash.digest('hex'), size };
    } finally {
      await out?.close().catch(() => undefined);
      // Close exactly once; the copy is read (or the error told) whatever the close says.
      await client.close(file).catch(() => undefined);
    }
  }

  async function run(req: Request): Promise<unknown> {
    const t = req.target;
    const client = new SMB2({
      share: `\\\\${t.server}\\${t.share}`,
      port: t.port,
      domain: t.domain ?? 'WORKGROUP',
      username: t.username,
      password: t.password,
      autoCloseTimeout: 0,
    });
    // Dial the address that was checked against the allowlist; the UNC keeps the server's name.
    client.ip = t.address;
    // A peer that hangs up before answering (an HTTP server does) would otherwise leave the
    // half-open socket waiting for ever.
    let finished = false;
    client.socket.once('end', () => {
      if (!finished) fail(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' }));
    });
    try {
      switch (req.op) {
        case 'deliver': {
          await mkdirs(client, req.dirLevels ?? []);
          for (const path of req.debris ?? []) await client.unlink(win(path)).catch(() => undefined);
          try {
            await upload(client, req, req.tmpPath!);
            await client.rename(win(req.tmpPath!), win(req.finalPath!), { replace: true });
          } catch (err) {
            await client.unlink(win(req.tmpPath!)).catch(() => undefined);
            throw err;
          }
          return await client.getSize(win(req.finalPath!));
        }
        case 'list': {
          const entries = await client.readdir(win(req.path!), { stats: true }).catch((err: { code?: string }) => {
            if (err?.code === 'STATUS_OBJECT_NAME_NOT_FOUND' || err?.code === 'STATUS_OBJECT_PATH_NOT_FOUND') return [];
            throw err;
          });
          return entries.map((e) => {
            const mtimeMs = e.mtime instanceof Date ? e.mtime.getTime() : NaN;
            return { name: e.name, size: e.size, isDir: e.isDirectory(), mtimeMs: Number.isNaN(mtimeMs) ? null : mtimeMs };
          });
        }
        case 'read':
          return await readBack(client, req);
        case 'remove':
          await client.unlink(win(req.path!)).catch((err: { code?: string }) => {
            if (err?.code !== 'STATUS_OBJECT_NAME_NOT_FOUND' && err?.code !== 'STATUS_OBJECT_PATH_NOT_FOUND') throw err;
          });
          return null;
        case 'probe': {
          await mkdirs(client, req.dirLevels ?? []);
          const file = await client.open(win(req.path!), 'w');
          await client.write(file, Buffer.from('pbx-backup probe\n'), undefined, undefined, 0);
          await client.close(file);
          await client.unlink(win(req.path!));
          return null;
        }
      }
      return null;
    } finally {
      finished = true;
      client.disconnect();
    }
  }

  process.once('message', (req: Request) => {
    run(req).then(
      (value) => {
        send({ type: 'result', value });
        setImmediate(() => process.exit(0));
      },
      (err: unknown) => fail(err),
    );
  });
  send({ type: 'ready' });
}

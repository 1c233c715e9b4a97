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
  }
  interface Smb2Client {
    mkdir(path: string): Promise<void>;
    open(path: string, flags: string): Promise<Smb2File>;
    write(file: Smb2File, buffer: Buffer, offset: undefined, length: undefined, start: number): Promise<unknown>;
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
    op: 'deliver' | 'list' | 'remove' | 'probe';
    target: { server: string; address: string; port: number; share: string; username: string; domain?: string; password: string };
    filePath?: string;
    size?: number;
    dirLevels?: string[];
    tmpPath?: string;
    finalPath?: string;
    debris?: string[];
    path?: string;
    concurrency?: number;
  }

  const fs = require('node:fs/promises') as typeof import('node:fs/promises');
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
  const MAX_WRITE = (require(pathMod.join(libDir, 'structures/constants')) as { MAX_WRITE_LENGTH: number }).MAX_WRITE_LENGTH;

  const send = (msg: Record<string, unknown>): void => {
    process.send?.(msg);
  };
  const fail = (err: unknown): void => {
    const e = err as { code?: string; message?: string };
    send({ type: 'error', code: typeof e?.code === 'string' ? e.code : undefined, message: String(e?.message ?? err), connecting });
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

/**
 * What the benchmarks share: the test servers and peers they use (libs/testing is not part of
 * the build), a poll helper, and the built apps as processes — on this host, or inside a
 * network namespace standing in for another host (bench/scale).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const benchRoot = resolve(__dirname, '../../..');

// The same servers and peers the tests use.
export const urls = {
  database: process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx_backup_test',
  amqp: process.env.TEST_AMQP_URL ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  redis: process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};
const peersDir = resolve(process.env.TEST_PEERS_DIR ?? join(benchRoot, 'var/test-peers'));
const offset = Number(process.env.TEST_PEERS_PORT_OFFSET ?? 0);
export const peers = {
  sftp: { port: 2222 + offset, username: 'sftpuser', password: 'sftppass', home: join(peersDir, 'sftp/home'), hostKey: join(peersDir, 'sshd/keys/ssh_host_ed25519_key.pub') },
  smb: { port: 4445 + offset, username: 'smbuser', password: 'smbpass', share: 'backup', dir: join(peersDir, 'samba/share') },
  smtp: { url: `smtp://127.0.0.1:${2525 + offset}`, port: 2525 + offset, maildir: join(peersDir, 'smtp/mail') },
  s3: { port: 4568 + offset, region: 'us-east-1', bucket: 'pbx-test', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', dataDir: join(peersDir, 's3/data') },
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value (not null/false) or `timeoutMs` passes (then null). */
export async function until<T>(probe: () => Promise<T | null | false>, timeoutMs: number, intervalMs = 50): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null && v !== false) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) return null;
    await sleep(intervalMs);
  }
}

/** A free TCP port (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export const sha256File = (path: string) =>
  new Promise<string>((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('error', rej).on('end', () => res(h.digest('hex')));
  });

export function hostKeyFingerprint(): string {
  const [, blob] = readFileSync(peers.sftp.hostKey, 'utf8').trim().split(/\s+/);
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** Where an app runs: this host (loopback) or a network namespace reached at `address`. */
export interface AppHost {
  netns: string;
  address: string;
}

/**
 * Built apps as processes (as `npm start` runs them), each with a /health port and a log,
 * keyed by a label (`dispatcher-b`) so one bench can run the same app on several hosts.
 */
export class Apps<L extends string = string> {
  private readonly procs = new Map<L, ChildProcess>();
  private readonly logs = new Map<L, WriteStream>();
  readonly ports = new Map<L, number>();
  private readonly specs = new Map<L, { app: string; host?: AppHost; env: Record<string, string> }>();

  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
    private readonly appsRoot = benchRoot,
  ) {}

  /** Declares `label` as `app` (api, scheduler, packer, dispatcher, notifier), optionally on another host. */
  define(label: L, app: string, options: { host?: AppHost; env?: Record<string, string> } = {}): void {
    this.specs.set(label, { app, host: options.host, env: options.env ?? {} });
  }

  private spec(label: L) {
    return this.specs.get(label) ?? { app: label as string, host: undefined, env: {} };
  }

  /** The address the app answers on, as seen from this process. */
  address(label: L): string {
    return this.spec(label).host?.address ?? '127.0.0.1';
  }

  url(label: L): string {
    return `http://${this.address(label)}:${this.ports.get(label)}`;
  }

  async spawn(label: L): Promise<void> {
    const { app, host, env } = this.spec(label);
    const port = this.ports.get(label) ?? (await freePort());
    this.ports.set(label, port);
    const log = this.logs.get(label) ?? createWriteStream(join(this.logDir, `${label}.log`), { flags: 'a' });
    this.logs.set(label, log);
    const main = join(this.appsRoot, 'dist/apps', app, 'src/main.js');
    const fullEnv = { ...process.env, ...this.env, ...env, ...(app === 'api' ? { PORT: String(port) } : { HEALTH_PORT: String(port) }) };
    // `ip netns exec` execs node in place: the pid is node's, so kill -9 hits the app itself.
    const child = host
      ? spawn('ip', ['netns', 'exec', host.netns, process.execPath, main], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [main], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    this.procs.set(label, child);
  }

  async healthy(label: L): Promise<void> {
    const ok = await until(async () => {
      const child = this.procs.get(label)!;
      if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}; see ${this.logDir}/${label}.log`);
      return (await fetch(`${this.url(label)}/health`)).ok;
    }, 60_000, 100);
    if (!ok) throw new Error(`${label} did not become healthy; see ${this.logDir}/${label}.log`);
  }

  /** kill -9, and wait until it is gone. */
  async kill(label: L): Promise<void> {
    const child = this.procs.get(label);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  alive(label: L): boolean {
    const child = this.procs.get(label);
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
        return exited.finally(() => clearTimeout(force));
      }),
    );
    for (const log of this.logs.values()) log.end();
  }
}

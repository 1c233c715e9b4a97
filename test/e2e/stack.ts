import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expectEventually, repoRoot } from '@pbx/testing';

export const APPS = ['api', 'scheduler', 'packer', 'dispatcher', 'notifier'] as const;
export type AppName = (typeof APPS)[number];

/**
 * Where the built apps come from: this checkout, or (PBX_E2E_APPS_ROOT) another checkout's
 * build — to run a suite against an older revision (`git worktree add /tmp/old <rev>`, its own
 * `npm ci && npm run build`) and see that it fails there.
 */
export const appsRoot = process.env.PBX_E2E_APPS_ROOT || repoRoot;

/** A free TCP port on loopback (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The five apps as separate processes, as `npm start` runs them (built code in dist/),
 * each with its log in `<logDir>/<app>.log`.
 */
export class Stack {
  private readonly procs = new Map<AppName, ChildProcess>();
  private readonly logs = new Map<AppName, WriteStream>();
  private readonly appEnv = new Map<AppName, Record<string, string>>();
  readonly ports = new Map<AppName, number>();

  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.get('api')}`;
  }

  async start(apps: readonly AppName[] = APPS): Promise<void> {
    for (const app of apps) await this.spawn(app);
    await Promise.all(apps.map((app) => this.waitHealthy(app)));
  }

  /** Environment of one app only (on top of the suite's), from its next spawn on. */
  setAppEnv(app: AppName, env: Record<string, string>): void {
    this.appEnv.set(app, env);
  }

  /** The running app's process id (undefined when it is not running). */
  pid(app: AppName): number | undefined {
    const child = this.procs.get(app);
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** How the app's last process ended: null while it runs. */
  exit(app: AppName): { code: number | null; signal: NodeJS.Signals | null } | null {
    const child = this.procs.get(app);
    if (!child || (child.exitCode === null && child.signalCode === null)) return null;
    return { code: child.exitCode, signal: child.signalCode };
  }

  async spawn(app: AppName): Promise<void> {
    const port = this.ports.get(app) ?? (await freePort());
    this.ports.set(app, port);
    const env = { ...process.env, ...this.env, ...this.appEnv.get(app), ...(app === 'api' ? { PORT: String(port) } : { HEALTH_PORT: String(port) }) };
    const log = this.logs.get(app) ?? createWriteStream(join(this.logDir, `${app}.log`), { flags: 'a' });
    this.logs.set(app, log);
    const child = spawn(process.execPath, [join(appsRoot, 'dist/apps', app, 'src/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    this.procs.set(app, child);
  }

  async waitHealthy(app: AppName, timeoutMs = 60_000): Promise<void> {
    await expectEventually(
      async () => {
        const child = this.procs.get(app);
        if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`${app} exited with ${child.exitCode}; see ${this.logDir}/${app}.log`);
        const res = await fetch(`http://127.0.0.1:${this.ports.get(app)}/health`);
        return res.ok;
      },
      { timeoutMs, intervalMs: 200, message: `${app} did not become healthy` },
    );
  }

  /** kill -9: no shutdown hooks, messages in hand are redelivered by the broker. */
  async kill(app: AppName): Promise<void> {
    const child = this.procs.get(app);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(app: AppName): Promise<void> {
    await this.kill(app);
    await this.spawn(app);
    await this.waitHealthy(app);
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

/** A tiny client of the public API. */
export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON (a download) */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  async download(path: string): Promise<Buffer> {
    const res = await fetch(this.baseUrl + path, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok) throw new Error(`download ${path}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }
}

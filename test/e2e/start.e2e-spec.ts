/**
 * `npm start` as an operator runs it (the built apps, SKIP_BUILD=1): a signal to the npm
 * process stops every app within 15 s and closes the ports; an app killed with -9 is
 * restarted while the others keep running; even a SIGKILLed npm leaves no app behind;
 * without SMTP_URL a local mail catcher runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { expectEventually, repoRoot } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';
import { APPS, freePort, type AppName } from './stack';

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const accepts = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });

class NpmStart {
  readonly proc: ChildProcess;
  output = '';
  readonly ports = new Map<AppName, number>();

  constructor(env: Record<string, string | undefined>, ports: Map<AppName, number>) {
    this.ports = ports;
    const portEnv = Object.fromEntries([...ports].map(([app, port]) => [app === 'api' ? 'PORT' : `${app.toUpperCase()}_HEALTH_PORT`, String(port)]));
    this.proc = spawn('npm', ['start'], { cwd: repoRoot, env: { ...process.env, ...env, ...portEnv, SKIP_BUILD: '1', PBX_DEMO_SEED: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) stream.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /** Every pid each app was started with, oldest first. */
  pids(): Map<string, number[]> {
    const pids = new Map<string, number[]>();
    for (const [, name, pid] of this.output.matchAll(/^(\w+)\s*\| started \(pid (\d+)\)/gm)) pids.set(name, [...(pids.get(name) ?? []), Number(pid)]);
    return pids;
  }

  async healthy(timeoutMs = 90_000): Promise<void> {
    await expectEventually(
      async () => {
        if (this.proc.exitCode !== null) throw new Error(`npm start exited with ${this.proc.exitCode}:\n${this.output.slice(-3000)}`);
        for (const port of this.ports.values()) if (!(await fetch(`http://127.0.0.1:${port}/health`)).ok) return false;
        return true;
      },
      // What the apps printed is the only clue when this fails on a CI machine.
      { timeoutMs, intervalMs: 250, message: () => `npm start did not become healthy; its output ended with:\n${'-'.repeat(40)}\n${this.output.slice(-4000)}\n${'-'.repeat(40)}\n` },
    );
  }

  /** Sends `signal` to the npm process and checks everything is gone within 15 s. */
  async stopsWith(signal: NodeJS.Signals): Promise<void> {
    const pids = [...this.pids().values()].flat();
    expect(pids.length).toBeGreaterThanOrEqual(APPS.length);
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await expectEventually(
      async () => {
        const left = pids.filter(alive);
        const open = (await Promise.all([...this.ports.values()].map(accepts))).some(Boolean);
        return left.length === 0 && !open && (this.proc.exitCode !== null || this.proc.signalCode !== null);
      },
      { timeoutMs: 15_000, intervalMs: 100, message: `apps still running after ${signal} to npm` },
    );
    await exited;
  }
}

describe('npm start: signals, restarts, mail catcher', () => {
  let e: E2eEnv;
  let start: NpmStart | undefined;

  const ports = async () => new Map<AppName, number>(await Promise.all(APPS.map(async (app) => [app, await freePort()] as [AppName, number])));

  beforeAll(async () => {
    e = await createE2eEnv('start');
  });

  afterEach(() => {
    // A failed test must not leave npm start running: its group is ours to end.
    if (start && start.proc.exitCode === null) start.proc.kill('SIGKILL');
    start = undefined;
  });

  afterAll(async () => {
    await e?.teardown();
  });

  it('SIGTERM to npm stops every app within 15 s; an app killed with -9 comes back, the others keep running; no SMTP_URL runs a mail catcher', async () => {
    start = new NpmStart({ ...e.env, SMTP_URL: undefined }, await ports());
    await start.healthy();
    const mail = /local mail catcher on 127\.0\.0\.1:(\d+); read the mails in (\S+)/.exec(start.output);
    expect(mail).not.toBeNull();
    expect(await accepts(Number(mail![1]))).toBe(true);

    const before = start.pids();
    const packer = before.get('packer')![0];
    process.kill(packer, 'SIGKILL');
    await expectEventually(() => expect(start!.output).toMatch(/packer CRASHED \(SIGKILL\); restarting it in/), { timeoutMs: 5000 });
    await expectEventually(() => (start!.pids().get('packer')?.length === 2 ? true : null), { timeoutMs: 10_000 });
    await start.healthy(60_000);
    for (const app of APPS.filter((a) => a !== 'packer')) expect(start.pids().get(app)).toEqual(before.get(app));
    expect(APPS.every((app) => alive(start!.pids().get(app)!.at(-1)!))).toBe(true);

    await start.stopsWith('SIGTERM');
  }, 180_000);

  it('SIGINT to npm stops every app within 15 s', async () => {
    start = new NpmStart(e.env, await ports());
    await start.healthy();
    expect(start.output).not.toContain('mail catcher');
    await start.stopsWith('SIGINT');
  }, 120_000);

  it('npm killed with SIGKILL (no chance to forward anything): every app still stops within 15 s', async () => {
    start = new NpmStart(e.env, await ports());
    await start.healthy();
    await start.stopsWith('SIGKILL');
  }, 120_000);
});

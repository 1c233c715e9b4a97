#!/usr/bin/env node
// `npm start`: builds, prepares the databases, then runs all five apps on this machine
// against the local Postgres, RabbitMQ and Redis (API.md defaults). Logs are prefixed by
// app. SIGINT (Ctrl-C), SIGTERM or SIGHUP stops them all gracefully (SIGKILL after 12 s);
// an app that exits on its own is restarted with back-off, the others keep running.
// Without SMTP_URL a local mail catcher stores e-mail destinations' mails under var/mail.
//
// npm 11 runs this through `sh -c` and forwards SIGINT/SIGTERM to that shell only, so the
// start script `exec`s node (package.json): the signals reach this process. The apps run in
// their own process groups (Ctrl-C in the terminal reaches only us, and we decide the order),
// under `setpriv --pdeathsig TERM` so they stop even if this process is killed with SIGKILL;
// we in turn watch our parent, so a SIGKILLed npm stops everything too.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const APPS = [
  { name: 'api', port: null },
  { name: 'scheduler', port: 3101 },
  { name: 'packer', port: 3102 },
  { name: 'dispatcher', port: 3103 },
  { name: 'notifier', port: 3104 },
];
const COLORS = [36, 35, 33, 32, 34, 90];
/** Graceful stop gets this long before SIGKILL, so a stop always ends within 15 s. */
const STOP_GRACE_MS = 12_000;
/** Restart delays of a crashing app; it starts from the first again after running HEALTHY_AFTER_MS. */
const BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];
const HEALTHY_AFTER_MS = 60_000;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => process.platform === 'linux' && existsSync(p));

const tty = process.stdout.isTTY;
const paint = (code, text) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const prefix = (i, name) => paint(COLORS[i % COLORS.length], name.padEnd(10)) + '| ';
const say = (text) => process.stdout.write(paint(1, `start     | ${text}`) + '\n');
const shout = (text) => process.stderr.write(paint('1;31', `start     | !!! ${text}`) + '\n');
// A closed terminal must not crash the supervisor halfway through a stop.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

let stopping = false;
let exitCode = 0;
/** The build/prepare step in progress (killed by a stop). */
let step = null;
/** Supervised processes: name → { child, restarts, startedAt, timer }. */
const procs = new Map();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

function runStep(cmd, args) {
  return new Promise((done) => {
    step = spawn(cmd, args, { stdio: 'inherit', detached: true });
    step.on('exit', (code, signal) => {
      step = null;
      if (stopping) process.exit(exitCode);
      if (code !== 0) process.exit(code ?? 1);
      done();
    });
  });
}

function freePort() {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => done(port));
    });
  });
}

function stop(signal) {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping all apps`);
  if (step) return killGroup(step, 'SIGTERM');
  for (const p of procs.values()) {
    clearTimeout(p.timer);
    if (p.child && p.child.exitCode === null && p.child.signalCode === null) killGroup(p.child, 'SIGTERM');
  }
  setTimeout(() => {
    for (const p of procs.values()) if (p.child) killGroup(p.child, 'SIGKILL');
  }, STOP_GRACE_MS).unref();
  exitWhenAllStopped();
}

function exitWhenAllStopped() {
  const running = [...procs.values()].filter((p) => p.child && p.child.exitCode === null && p.child.signalCode === null);
  if (running.length === 0) process.exit(exitCode);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal));
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && stop('parent gone'), 500).unref();

/** Starts (and keeps running) one process; `index` picks its colour. */
function supervise(name, index, args, env) {
  const p = procs.get(name) ?? { restarts: 0, child: null, timer: null, startedAt: 0 };
  procs.set(name, p);
  const argv = SETPRIV ? [SETPRIV, ['--pdeathsig', 'TERM', '--', process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(argv[0], argv[1], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  p.child = child;
  p.startedAt = Date.now();
  process.stdout.write(prefix(index, name) + `started (pid ${child.pid})\n`);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix(index, name) + line + '\n'));
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(prefix(index, name) + `exited (${signal ?? code})\n`);
    if (stopping) return exitWhenAllStopped();
    if (Date.now() - p.startedAt >= HEALTHY_AFTER_MS) p.restarts = 0;
    const delay = BACKOFF_MS[Math.min(p.restarts, BACKOFF_MS.length - 1)];
    p.restarts++;
    shout(`${name} CRASHED (${signal ?? `exit code ${code}`}); restarting it in ${delay / 1000} s (restart #${p.restarts}); the other apps keep running`);
    p.timer = setTimeout(() => supervise(name, index, args, env), delay);
  });
}

if (process.env.SKIP_BUILD !== '1') await runStep('npm', ['run', '--silent', 'build']);
await runStep(process.execPath, ['dist/scripts/prepare.js']);

const shared = { ...process.env };
// The apps write to our pipe, not the terminal: tell them to format for the terminal we have.
if (tty && !shared.LOG_FORMAT) shared.LOG_FORMAT = 'pretty';
if (!process.env.SMTP_URL) {
  const mailDir = resolve('var/mail');
  mkdirSync(mailDir, { recursive: true });
  const port = await freePort();
  shared.SMTP_URL = `smtp://127.0.0.1:${port}`;
  supervise('mail', APPS.length, ['scripts/peers/smtp-sink.js'], { ...process.env, MAILDIR: mailDir, SMTP_PORT: String(port) });
  say(`SMTP_URL is not set: e-mail destinations deliver to a local mail catcher on 127.0.0.1:${port}; read the mails in ${mailDir}/*.eml`);
}

APPS.forEach((app, i) => {
  const env = { ...shared };
  const ownPort = process.env[`${app.name.toUpperCase()}_HEALTH_PORT`];
  if (app.port) env.HEALTH_PORT = ownPort ?? String(app.port);
  else delete env.HEALTH_PORT;
  if (!stopping) supervise(app.name, i, [`dist/apps/${app.name}/src/main.js`], env);
});

#!/usr/bin/env node
// `npm start`: builds, prepares the databases, then runs all five apps on this machine
// against the local Postgres, RabbitMQ and Redis (API.md defaults). Logs are prefixed by
// app; Ctrl-C (or SIGTERM) stops them all gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

const APPS = [
  { name: 'api', port: null },
  { name: 'scheduler', port: 3101 },
  { name: 'packer', port: 3102 },
  { name: 'dispatcher', port: 3103 },
  { name: 'notifier', port: 3104 },
];
const COLORS = [36, 35, 33, 32, 34];
const tty = process.stdout.isTTY;
const prefix = (i, name) => (tty ? `\x1b[${COLORS[i]}m${name.padEnd(10)}\x1b[0m| ` : `${name.padEnd(10)}| `);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.env.SKIP_BUILD !== '1') run('npm', ['run', '--silent', 'build']);
run('node', ['dist/scripts/prepare.js']);

const children = APPS.map((app, i) => {
  const env = { ...process.env };
  if (app.port && !process.env[`${app.name.toUpperCase()}_HEALTH_PORT`]) env.HEALTH_PORT = String(app.port);
  else if (app.port) env.HEALTH_PORT = process.env[`${app.name.toUpperCase()}_HEALTH_PORT`];
  else delete env.HEALTH_PORT;
  // The legacy SMB driver's NTLMv1 needs MD4; it runs in its own child, but keep the flag harmless here.
  const child = spawn(process.execPath, [`dist/apps/${app.name}/src/main.js`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix(i, app.name) + line + '\n'));
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(prefix(i, app.name) + `exited (${signal ?? code})\n`);
    if (!stopping) stop(code || 1);
  });
  return child;
});

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const force = setTimeout(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')), 15_000);
  force.unref();
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

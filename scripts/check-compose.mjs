// CI check of docker-compose.yml (no Docker engine here to run it; docs/deploy.md):
// - `docker-compose config -q` accepts it (Debian's docker-compose; required when CI=true),
// - the five apps from one Dockerfile, each with every variable libs/config says it needs in a
//   deployment (DEPLOYMENT_REQUIRED, read from the TypeScript source: one list, not a copy),
// - a one-shot `migrate` service every app waits for (service_completed_successfully),
// - a health check on every long-running service, each app's on its own HTTP port,
// - a mail catcher the apps' SMTP_URL points at, and no RabbitMQ management port published
//   unless asked for by a profile,
// - no credential with a default: every password, secret, token and key (also inside URLs)
//   comes from a required variable `${VAR:?message}`, and RabbitMQ has no guest account.
// Usage: node scripts/check-compose.mjs [file]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const file = process.argv[2] ?? 'docker-compose.yml';
const doc = YAML.parse(readFileSync(file, 'utf8'), { merge: true });
const { APP_NAMES, DEPLOYMENT_REQUIRED } = loadConfigLib();
const problems = [];
const MANAGEMENT_PORT = 15672;

// --- docker-compose's own validation ---------------------------------------------------------
const cli = spawnSync('docker-compose', ['-f', resolve(file), '--project-directory', dirname(resolve(file)), 'config', '-q'], {
  encoding: 'utf8',
  // Dummy values for every required variable, so the check is of the file, not of this shell.
  env: { PATH: process.env.PATH, ...Object.fromEntries(requiredVariables(readFileSync(file, 'utf8')).map((v) => [v, 'x'])) },
});
if (cli.error) {
  if (process.env.CI) problems.push('docker-compose is not installed (apt-get install docker-compose)');
  else console.warn('docker-compose not found: skipped `docker-compose config -q`');
} else if (cli.status !== 0) problems.push(`docker-compose config: ${cli.stderr.trim()}`);

// --- the apps --------------------------------------------------------------------------------
const services = doc.services ?? {};
const oneShot = (s) => s.restart === 'no' || s.restart === false;
for (const app of APP_NAMES) {
  const s = services[app];
  if (!s) { problems.push(`service ${app} missing`); continue; }
  const env = environmentOf(s);
  if (s.build?.args?.APP !== app) problems.push(`${app}: build arg APP must be ${app}`);
  if (!(s.volumes ?? []).some((v) => String(v).startsWith('artifacts:'))) problems.push(`${app}: no shared artifacts volume`);
  for (const v of DEPLOYMENT_REQUIRED[app]) if (!isSet(env[v])) problems.push(`${app}: ${v} not set (libs/config requires it for ${app} in a deployment)`);
  if (services.migrate && s.depends_on?.migrate?.condition !== 'service_completed_successfully') problems.push(`${app}: must wait for migrate (depends_on condition service_completed_successfully)`);
  const port = app === 'api' ? env.PORT : env.HEALTH_PORT;
  const probe = JSON.stringify(s.healthcheck?.test ?? '');
  if (s.healthcheck && !s.healthcheck.disable && port && !probe.includes(`:${port}/health`)) problems.push(`${app}: its healthcheck must ask /health on its own port ${port}`);
}
const migrate = services.migrate;
if (!migrate) problems.push('service migrate missing (a one-shot the apps wait for)');
else if (!oneShot(migrate)) problems.push('migrate: must be a one-shot (restart: "no")');

for (const [name, s] of Object.entries(services)) {
  if (oneShot(s)) continue;
  if (!s.healthcheck || s.healthcheck.disable || JSON.stringify(s.healthcheck.test) === '["NONE"]') problems.push(`${name}: no healthcheck`);
  if (!s.profiles?.length && publishes(s, MANAGEMENT_PORT)) problems.push(`${name}: publishes the management port ${MANAGEMENT_PORT} by default (put it under a profile)`);
}

// --- mail ------------------------------------------------------------------------------------
for (const app of APP_NAMES) {
  const smtp = environmentOf(services[app] ?? {}).SMTP_URL;
  if (!smtp) continue;
  // The URL itself or the default of `${SMTP_URL:-smtp://…}`.
  const host = /^(?:\$\{[A-Za-z0-9_]+:-)?smtps?:\/\/(?:[^@/]*@)?([^:/}]+)/.exec(smtp)?.[1];
  if (!host || !services[host]) problems.push(`${app}: SMTP_URL (${smtp}) must point at the mail catcher service by default`);
  else if (services[host].profiles?.length) problems.push(`${app}: the mail service ${host} must run by default, not only under a profile`);
}

// --- credentials ---------------------------------------------------------------------------
const CREDENTIAL_NAME = /(PASSWORD|PASS|SECRET|TOKEN|_KEY)$/i;
// `:?` also refuses an empty value; `?` alone, `:-`, `-`, `:=` would let a blank or default through.
const REQUIRED = /^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}$/;
for (const [name, service] of Object.entries(doc.services ?? {})) {
  const env = environmentOf(service);
  for (const [key, value] of Object.entries(env)) {
    if (CREDENTIAL_NAME.test(key) && !REQUIRED.test(value)) problems.push(`${name}: ${key} must be a required variable \${VAR:?message}, not a literal or a default`);
    const userinfo = urlUserinfo(value);
    if (!userinfo) continue;
    if (userinfo.password === null || !REQUIRED.test(userinfo.password)) problems.push(`${name}: the password in ${key} must be a required variable \${VAR:?message}`);
    if (userinfo.user === 'guest') problems.push(`${name}: ${key} uses RabbitMQ's default guest account`);
  }
  if (String(service.image ?? '').startsWith('rabbitmq')) {
    const guest = !env.RABBITMQ_DEFAULT_PASS || env.RABBITMQ_DEFAULT_USER === undefined || env.RABBITMQ_DEFAULT_USER === 'guest';
    if (guest) problems.push(`${name}: the default guest account is active (set RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS from required variables)`);
    if (guest && publishes(service, MANAGEMENT_PORT)) problems.push(`${name}: publishes the management port ${MANAGEMENT_PORT} with the guest account`);
  }
  if (String(service.image ?? '').startsWith('postgres') && (!env.POSTGRES_PASSWORD || env.POSTGRES_HOST_AUTH_METHOD === 'trust')) {
    problems.push(`${name}: Postgres without a password`);
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`${file}: five apps with every required variable, migrate first, health checks, mail catcher, every credential a required variable${cli.error ? '' : ', docker-compose config -q'}`);

/** libs/config from its TypeScript source (swc, as jest does): no build needed. */
function loadConfigLib() {
  const require = createRequire(import.meta.url);
  const swc = require('@swc/core');
  require.extensions['.ts'] ??= (module, filename) =>
    module._compile(swc.transformSync(readFileSync(filename, 'utf8'), { filename, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }).code, filename);
  return require(fileURLToPath(new URL('../libs/config/src/index.ts', import.meta.url)));
}

/** Names of the `${VAR:?message}` variables a compose file requires. */
function requiredVariables(text) {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1]))];
}

/** A value is set when it is non-empty and any variable in it cannot come out empty. */
function isSet(value) {
  if (value === undefined || value === '') return false;
  // `${VAR}` and `${VAR-x}` may be empty; `${VAR:?…}` (required) and `${VAR:-default}` may not.
  return [...String(value).matchAll(/\$\{([^}]*)\}/g)].every((m) => /^[A-Za-z_][A-Za-z0-9_]*:[?-]./.test(m[1]));
}

/** `environment:` as a map, from either compose form (map or KEY=VALUE list). */
function environmentOf(service) {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return Object.fromEntries(env.map((e) => { const i = String(e).indexOf('='); return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)]; }));
}

/** user and password of `scheme://user:password@host…`; `${…}` may contain ':', '@' and '/'. */
function urlUserinfo(value) {
  const start = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
  if (!start) return null;
  let depth = 0;
  let colon = -1;
  for (let i = start[0].length; i < value.length; i++) {
    if (value.startsWith('${', i)) { depth++; i++; continue; }
    if (depth && value[i] === '}') { depth--; continue; }
    if (depth) continue;
    if (value[i] === ':' && colon < 0) colon = i;
    if (value[i] === '/') return null;
    if (value[i] === '@') {
      const from = start[0].length;
      return colon < 0 ? { user: value.slice(from, i), password: null } : { user: value.slice(from, colon), password: value.slice(colon + 1, i) };
    }
  }
  return null;
}

/** True when any `ports:` entry (short or long form) maps the container port. */
function publishes(service, port) {
  return (service.ports ?? []).some((p) => (typeof p === 'object' ? Number(p.target) === port : Number(String(p).split('/')[0].split(':').at(-1)) === port));
}

// CI check: docker-compose.yml parses, has the five apps from one Dockerfile, health
// checks, a shared artifact volume, and no credential with a default: every password,
// secret, token and key (also inside URLs) comes from a required variable `${VAR:?message}`,
// and RabbitMQ has no guest account to publish its management port with. (No Docker engine
// here to run it.)  Usage: node scripts/check-compose.mjs [file]
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

const file = process.argv[2] ?? 'docker-compose.yml';
const doc = YAML.parse(readFileSync(file, 'utf8'), { merge: true });
const problems = [];
for (const app of ['api', 'scheduler', 'packer', 'dispatcher', 'notifier']) {
  const s = doc.services?.[app];
  if (!s) { problems.push(`service ${app} missing`); continue; }
  if (s.build?.args?.APP !== app) problems.push(`${app}: build arg APP must be ${app}`);
  if (!s.healthcheck) problems.push(`${app}: no healthcheck`);
  if (!(s.volumes ?? []).some((v) => String(v).startsWith('artifacts:'))) problems.push(`${app}: no shared artifacts volume`);
  for (const v of ['DATABASE_URL', 'AMQP_URL', 'REDIS_URL', 'ARTIFACT_DIR']) if (!s.environment?.[v]) problems.push(`${app}: ${v} not set`);
}
for (const dep of ['postgres', 'rabbitmq', 'redis']) if (!doc.services?.[dep]?.healthcheck) problems.push(`${dep}: no healthcheck`);

// --- credentials ---------------------------------------------------------------------------
const CREDENTIAL_NAME = /(PASSWORD|PASS|SECRET|TOKEN|_KEY)$/i;
// `:?` also refuses an empty value; `?` alone, `:-`, `-`, `:=` would let a blank or default through.
const REQUIRED = /^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}$/;
const MANAGEMENT_PORT = 15672;

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
console.log(`${file}: five apps, health checks, shared artifact volume, every credential a required variable`);

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

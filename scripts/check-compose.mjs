// CI check: docker-compose.yml parses, has the five apps from one Dockerfile, health
// checks, and a shared artifact volume. (No Docker engine here to run it.)
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

const doc = YAML.parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true });
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
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('docker-compose.yml: five apps, health checks, shared artifact volume');

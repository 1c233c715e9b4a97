import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const COMPOSE = readFileSync(join(__dirname, '..', 'docker-compose.yml'), 'utf8');

describe('scripts/check-compose.mjs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'compose-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the check on docker-compose.yml with one textual change; returns its complaints ('' = passed). */
  const check = (from?: string, to = ''): string => {
    if (from !== undefined) expect(COMPOSE).toContain(from);
    const file = join(dir, `${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(file, from === undefined ? COMPOSE : COMPOSE.replace(from, to));
    const res = spawnSync(process.execPath, [join(__dirname, 'check-compose.mjs'), file], { encoding: 'utf8', cwd: join(__dirname, '..') });
    return res.status === 0 ? '' : res.stderr;
  };
  const RABBIT_ENV = `    environment:
      RABBITMQ_DEFAULT_USER: \${RABBITMQ_USER:?set RABBITMQ_USER}
      RABBITMQ_DEFAULT_PASS: \${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD (URL-safe)}
`;

  it('passes the repository compose file', () => {
    expect(check()).toBe('');
  });

  it.each([
    ['a credential with a default', 'SECRETS_KEY: ${SECRETS_KEY:?set SECRETS_KEY (64 hex chars)}', 'SECRETS_KEY: ${SECRETS_KEY:-0123}', /SECRETS_KEY must be a required variable/],
    ['a credential that may be empty', 'ADMIN_API_TOKEN: ${ADMIN_API_TOKEN:?set ADMIN_API_TOKEN (16+ chars)}', 'ADMIN_API_TOKEN: ${ADMIN_API_TOKEN?unset}', /ADMIN_API_TOKEN must be a required variable/],
    ['a literal database password', 'POSTGRES_PASSWORD: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (URL-safe)}"', 'POSTGRES_PASSWORD: postgres', /postgres: POSTGRES_PASSWORD must be a required variable/],
    ['a password with a default inside a URL', 'postgres://postgres:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (URL-safe)}@postgres:5432/pbx_backup', 'postgres://postgres:${POSTGRES_PASSWORD:-postgres}@postgres:5432/pbx_backup', /api: the password in DATABASE_URL/],
    ['the guest account in the AMQP URL', 'amqp://${RABBITMQ_USER:?set RABBITMQ_USER}:${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD (URL-safe)}@', 'amqp://guest:guest@', /AMQP_URL uses RabbitMQ's default guest account/],
    ['RabbitMQ with its default account', RABBIT_ENV, '', /rabbitmq: the default guest account is active/],
    ['the management port published with guest', RABBIT_ENV, '    ports: ["15672:15672"]\n', /publishes the management port 15672 with the guest account/],
  ])('fails on %s', (_what, from, to, message) => {
    expect(check(from, to)).toMatch(message);
  });

  it.each([
    // Removed from the shared block: every app that needs it (libs/config DEPLOYMENT_REQUIRED) is named.
    ['a required variable removed', '    REDIS_URL: redis://redis:6379\n', '', /api: REDIS_URL not set[\s\S]*notifier: REDIS_URL not set/],
    ['a variable only the packer requires', '    PBX_DATABASE_URL: postgres://postgres:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (URL-safe)}@postgres:5432/pbx\n', '', /packer: PBX_DATABASE_URL not set/],
    ['a required variable that may come out empty', 'PBX_ID: ${PBX_ID:-pbx-1}', 'PBX_ID: ${PBX_ID}', /packer: PBX_ID not set/],
    ['a worker without a health port', '    HEALTH_PORT: "3100"\n', '', /scheduler: HEALTH_PORT not set/],
    ['an app that does not wait for migrate', '    migrate: { condition: service_completed_successfully }\n    postgres', '    postgres', /api: must wait for migrate/],
    ['a service without a health check', `    healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: 5s, retries: 20 }\n`, '', /redis: no healthcheck/],
    ['a worker health check on another port', "fetch('http://127.0.0.1:3100/health')", "fetch('http://127.0.0.1:3200/health')", /packer: its healthcheck must ask \/health on its own port 3100/],
    ['SMTP_URL pointing nowhere', 'smtp://mail:1025', 'smtp://mailhog:1025', /notifier: SMTP_URL .* must point at the mail catcher/],
    ['the management port published by default', 'ports: ["127.0.0.1:8025:8025"]', 'ports: ["127.0.0.1:8025:8025", "15672:15672"]', /mail: publishes the management port 15672 by default/],
    ['what docker-compose refuses', 'condition: service_completed_successfully', 'condition: service_finished', /docker-compose config|must wait for migrate/],
  ])('fails on %s', (_what, from, to, message) => {
    expect(check(from, to)).toMatch(message);
  });

  it('publishes the management port only under an opt-in profile (the repository file: `management`), not by default even on loopback', () => {
    expect(check(RABBIT_ENV, `${RABBIT_ENV}    ports: ["127.0.0.1:15672:15672"]\n`)).toMatch(/rabbitmq: publishes the management port 15672 by default/);
    expect(COMPOSE).toMatch(/rabbitmq-management:\n(.*\n)*?    profiles: \[management\]/);
  });
});

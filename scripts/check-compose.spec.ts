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
    const res = spawnSync(process.execPath, [join(__dirname, 'check-compose.mjs'), file], { encoding: 'utf8' });
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

  it('allows the management port on loopback when the account comes from required variables', () => {
    expect(check(RABBIT_ENV, `${RABBIT_ENV}    ports: ["127.0.0.1:15672:15672"]\n`)).toBe('');
  });
});

/**
 * Health as an operator sees it: stopping RabbitMQ turns the api's /health red within
 * seconds, and starting it again turns it green without restarting the app.
 * (e2e tier: its files run one at a time, so stopping the broker disturbs no other test.)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, freshSchema, tempDir, testUrls } from '@pbx/testing';
import { migrateDatabase } from '@pbx/persistence';
import { Stack } from './stack';

interface Health { status: string; checks: Record<'postgres' | 'rabbitmq' | 'redis', { up: boolean }> }

const rabbitmqctl = (...args: string[]) => execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 60_000 });

describe('health reports the dependencies as they are', () => {
  let stack: Stack;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let ns: string;

  beforeAll(async () => {
    dirs = await tempDir('pbx-health-');
    schema = await freshSchema('health');
    ns = amqpNamespace();
    await migrateDatabase({ url: testUrls.database, schema: schema.name });
    stack = new Stack(
      {
        LOG_LEVEL: 'info', DATABASE_URL: testUrls.database, DATABASE_SCHEMA: schema.name, AMQP_URL: testUrls.amqp, AMQP_NAMESPACE: ns,
        REDIS_URL: testUrls.redis, ADMIN_API_TOKEN: `health-${randomBytes(8).toString('hex')}`, ARTIFACT_DIR: dirs.path,
      },
      dirs.path,
    );
    await stack.start(['api', 'dispatcher']);
  });

  afterAll(async () => {
    rabbitmqctl('start_app'); // whatever happened, leave the broker running
    await stack?.stop();
    await deleteAmqpNamespace(ns).catch(() => undefined);
    await schema?.drop();
    await dirs?.remove();
  });

  const health = async (app: 'api' | 'dispatcher'): Promise<{ code: number; body: Health }> => {
    const res = await fetch(`http://127.0.0.1:${stack.ports.get(app)}/health`);
    return { code: res.status, body: (await res.json()) as Health };
  };

  it('goes red when RabbitMQ stops and green again when it is back, without restarting the apps', async () => {
    expect((await health('api')).body.status).toBe('ok');
    try {
      rabbitmqctl('stop_app');
      const t0 = Date.now();
      for (const app of ['api', 'dispatcher'] as const) {
        const down = await expectEventually(async () => {
          const h = await health(app);
          return h.body.checks.rabbitmq.up ? null : h;
        }, { timeoutMs: 15_000, intervalMs: 100 });
        expect(down.code).toBe(503);
        expect(down.body.checks.postgres.up).toBe(true);
        expect(down.body.checks.redis.up).toBe(true);
      }
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      rabbitmqctl('start_app');
    }
    for (const app of ['api', 'dispatcher'] as const) {
      await expectEventually(async () => (await health(app)).body.status === 'ok', { timeoutMs: 60_000, intervalMs: 200 });
    }
  });
});

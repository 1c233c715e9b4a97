import { loadEnv, type AppEnv } from '@pbx/config';
import { testUrls } from './isolation';

/** An app environment pointed at the real test servers, isolated by the caller's names. */
export function testEnv(overrides: Record<string, string | number | boolean | undefined>): AppEnv {
  const base: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: testUrls.database,
    PBX_DATABASE_URL: testUrls.database,
    AMQP_URL: testUrls.amqp,
    REDIS_URL: testUrls.redis,
    HEALTH_PORT: '0',
    AMQP_RETRY_DELAY_MS: '100',
    AMQP_MAX_ATTEMPTS: '3',
    // A delivery's own retries, scaled down like the transport's: a transient failure is final within a second.
    DELIVERY_RETRY_FIRST_DELAY_MS: '100',
    DELIVERY_RETRY_MAX_DELAY_MS: '200',
    DELIVERY_RETRY_FOR_MS: '500',
  };
  const extra = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
  return loadEnv({ ...base, ...extra });
}

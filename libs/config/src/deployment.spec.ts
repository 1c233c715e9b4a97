import { APP_NAMES, DEPLOYMENT_REQUIRED, missingDeploymentEnv } from './deployment';
import { envSchema } from './env';

describe('DEPLOYMENT_REQUIRED', () => {
  it('names only variables of the schema, for each of the five apps', () => {
    expect(Object.keys(DEPLOYMENT_REQUIRED).sort()).toEqual([...APP_NAMES].sort());
    for (const names of Object.values(DEPLOYMENT_REQUIRED)) for (const name of names) expect(Object.keys(envSchema.shape)).toContain(name);
  });

  it('every app needs its connections; workers their health port; only the api the admin token', () => {
    for (const app of APP_NAMES) expect(DEPLOYMENT_REQUIRED[app]).toEqual(expect.arrayContaining(['DATABASE_URL', 'AMQP_URL', 'REDIS_URL']));
    for (const app of APP_NAMES.filter((a) => a !== 'api')) expect(DEPLOYMENT_REQUIRED[app]).toContain('HEALTH_PORT');
    expect(APP_NAMES.filter((a) => DEPLOYMENT_REQUIRED[a].includes('ADMIN_API_TOKEN'))).toEqual(['api']);
  });

  it('missingDeploymentEnv lists what is unset or empty', () => {
    expect(missingDeploymentEnv('scheduler', { DATABASE_URL: 'postgres://x/y', AMQP_URL: '', HEALTH_PORT: '3100' })).toEqual(['AMQP_URL', 'REDIS_URL']);
  });
});

import { ConfigError, loadEnv } from './env';

function errorOf(raw: Record<string, string>): ConfigError {
  try {
    loadEnv(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadEnv accepted it');
}

describe('loadEnv', () => {
  it('gives every knob its documented default', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ LOCAL_VERIFY: 'size', SAR_AUDIO_DEFLATE_LEVEL: 0, PACKER_CONCURRENCY: 1, MAINTENANCE_DEFER_MS: 3_600_000 });
    expect(env).toMatchObject({ MAINTENANCE_RECHECK_MS: 15_000, RUN_SWEEP_INTERVAL_MS: 60_000 });
  });

  it('keys the maintenance lock by PBX_ID (two installs on one Redis do not wait for each other); MAINTENANCE_LOCK_KEY overrides', () => {
    expect(loadEnv({}).MAINTENANCE_LOCK_KEY).toBe('pbx:pbx-1:maintenance');
    expect(loadEnv({ PBX_ID: 'branch-7' }).MAINTENANCE_LOCK_KEY).toBe('pbx:branch-7:maintenance');
    expect(loadEnv({ PBX_ID: 'branch-7', MAINTENANCE_LOCK_KEY: 'pbx:maintenance' }).MAINTENANCE_LOCK_KEY).toBe('pbx:maintenance');
  });

  it('reads values from strings, as the environment gives them', () => {
    expect(loadEnv({ SAR_AUDIO_DEFLATE_LEVEL: '2', LOCAL_VERIFY: 'sha256', USB_ALLOW_UNMOUNTED: 'yes' })).toMatchObject({
      SAR_AUDIO_DEFLATE_LEVEL: 2,
      LOCAL_VERIFY: 'sha256',
      USB_ALLOW_UNMOUNTED: true,
    });
  });

  it.each([
    ['SAR_AUDIO_DEFLATE_LEVEL', '10'],
    ['SAR_AUDIO_DEFLATE_LEVEL', 'fast'],
    ['LOCAL_VERIFY', 'md5'],
    ['PACKER_CONCURRENCY', '0'],
    ['MAINTENANCE_RECHECK_MS', '10'],
    ['RUN_SWEEP_INTERVAL_MS', '0'],
  ])('refuses %s=%s and names the variable', (name, value) => {
    expect(errorOf({ [name]: value }).message).toContain(name);
  });

  it('gives a delivery hours to ride out faults, not the transport\'s attempts; DELIVERY_MAX_ATTEMPTS is an optional cap', () => {
    expect(loadEnv({})).toMatchObject({
      DELIVERY_RETRY_FOR_MS: 6 * 3_600_000,
      DELIVERY_RETRY_FIRST_DELAY_MS: 5000,
      DELIVERY_RETRY_MAX_DELAY_MS: 600_000,
      DESTINATION_CONNECT_TIMEOUT_MS: 20_000,
      DESTINATION_IDLE_TIMEOUT_MS: 60_000,
    });
    expect(loadEnv({}).DELIVERY_MAX_ATTEMPTS).toBeUndefined();
    // The transport no longer carries delivery retries, so the cap may exceed its attempts.
    expect(loadEnv({ AMQP_MAX_ATTEMPTS: '3', DELIVERY_MAX_ATTEMPTS: '40' })).toMatchObject({ AMQP_MAX_ATTEMPTS: 3, DELIVERY_MAX_ATTEMPTS: 40 });
    expect(errorOf({ DELIVERY_MAX_ATTEMPTS: '0' }).message).toContain('DELIVERY_MAX_ATTEMPTS');
    expect(errorOf({ DELIVERY_RETRY_FIRST_DELAY_MS: '5000', DELIVERY_RETRY_MAX_DELAY_MS: '1000' }).message).toMatch(/DELIVERY_RETRY_MAX_DELAY_MS: must be at least/);
    expect(errorOf({ DESTINATION_IDLE_TIMEOUT_MS: '0' }).message).toContain('DESTINATION_IDLE_TIMEOUT_MS');
  });

  it('keeps artifacts in ARTIFACT_DIR by default; ARTIFACT_STORE=s3 needs a bucket and both keys or neither', () => {
    expect(loadEnv({})).toMatchObject({ ARTIFACT_STORE: 'fs', S3_REGION: 'us-east-1', S3_PREFIX: '', S3_FORCE_PATH_STYLE: false });
    expect(errorOf({ ARTIFACT_STORE: 's3' }).message).toContain('S3_BUCKET: required');
    expect(errorOf({ ARTIFACT_STORE: 's3', S3_BUCKET: 'b1b', S3_ACCESS_KEY_ID: 'k' }).message).toContain('S3_SECRET_ACCESS_KEY');
    expect(errorOf({ S3_ENDPOINT: 'ftp://x' }).message).toContain('S3_ENDPOINT');
    expect(
      loadEnv({ ARTIFACT_STORE: 's3', S3_BUCKET: 'pbx-art', S3_PREFIX: 'site-1', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: 'true', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' }),
    ).toMatchObject({ ARTIFACT_STORE: 's3', S3_BUCKET: 'pbx-art', S3_PREFIX: 'site-1/', S3_FORCE_PATH_STYLE: true });
  });

  it('refuses a malformed SECRETS_KEY without echoing it', () => {
    const err = errorOf({ SECRETS_KEY: 'not-a-key-but-a-secret-value' });
    expect(err.message).toContain('SECRETS_KEY');
    expect(err.message).not.toContain('not-a-key-but-a-secret-value');
  });
});

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
  ])('refuses %s=%s and names the variable', (name, value) => {
    expect(errorOf({ [name]: value }).message).toContain(name);
  });

  it('limits delivery attempts by DELIVERY_MAX_ATTEMPTS, by default as many as the transport retries', () => {
    expect(loadEnv({}).DELIVERY_MAX_ATTEMPTS).toBe(5);
    expect(loadEnv({ AMQP_MAX_ATTEMPTS: '3' }).DELIVERY_MAX_ATTEMPTS).toBe(3);
    expect(loadEnv({ AMQP_MAX_ATTEMPTS: '8', DELIVERY_MAX_ATTEMPTS: '2' })).toMatchObject({ AMQP_MAX_ATTEMPTS: 8, DELIVERY_MAX_ATTEMPTS: 2 });
    expect(errorOf({ DELIVERY_MAX_ATTEMPTS: '0' }).message).toContain('DELIVERY_MAX_ATTEMPTS');
    // More delivery attempts than message attempts: the message would be dead-lettered first.
    expect(errorOf({ AMQP_MAX_ATTEMPTS: '3', DELIVERY_MAX_ATTEMPTS: '4' }).message).toMatch(/DELIVERY_MAX_ATTEMPTS: must be at most AMQP_MAX_ATTEMPTS \(3\)/);
  });

  it('refuses a malformed SECRETS_KEY without echoing it', () => {
    const err = errorOf({ SECRETS_KEY: 'not-a-key-but-a-secret-value' });
    expect(err.message).toContain('SECRETS_KEY');
    expect(err.message).not.toContain('not-a-key-but-a-secret-value');
  });
});

import type { DestinationEntity } from '@pbx/persistence';
import { SecretBox } from '@pbx/secrets';
import { toDestinationResponse } from './configuration.mapper';
import { validate } from '../common/validation';
import { patchDestinationSchema } from '@pbx/contracts';
import { missingSecret } from '@pbx/contracts';
import { dropSecretMarkers, sealSecrets, splitDestination, toDestinationConfig, type DestinationRecord } from './destination-secrets';

const box = new SecretBox('c3'.repeat(32));
const ID = '8d7e8a0e-9d4f-4a52-9b1f-0f4b2b8f4a11';
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';

describe('destination secrets', () => {
  it('splits write-only fields from settings (id and type are columns)', () => {
    expect(splitDestination({ type: 'sftp', id: 'x', host: 'h', port: 22, username: 'u', password: 'pw', privateKey: undefined })).toEqual({
      type: 'sftp',
      settings: { host: 'h', port: 22, username: 'u' },
      secrets: { password: 'pw' },
    });
  });

  it('seals each secret so that only the box opens it', () => {
    // Long plaintexts: a two-letter one turns up in random base64 by chance (a flaky test).
    const password = 'correct-horse-battery-staple-9f1c';
    const sealed = sealSecrets(box, { password, refreshToken: 'refresh-token-value-77ab' });
    expect(Object.keys(sealed)).toEqual(['password', 'refreshToken']);
    expect(JSON.stringify(sealed)).not.toContain(password);
    expect(JSON.stringify(sealed)).not.toContain('refresh-token-value-77ab');
    expect(box.open(sealed.password)).toBe(password);
  });

  it('responses show markers and flags, never values', () => {
    const entity = { id: 'd1', type: 'smb', settings: { server: 'nas', share: 'b' }, secrets: sealSecrets(box, { password: 'topsecret' }) } as unknown as DestinationEntity;
    const res = toDestinationResponse(entity);
    expect(res).toEqual({ id: 'd1', type: 'smb', server: 'nas', share: 'b', password: '***', hasPassword: true });
    expect(JSON.stringify(res)).not.toContain(entity.secrets.password);
  });

  it('toDestinationConfig opens the secrets for the adapter', () => {
    expect(toDestinationConfig({ type: 'sftp', settings: { host: 'h', username: 'u', path: '.' }, secrets: sealSecrets(box, { password: 'pw' }) }, box)).toEqual({
      type: 'sftp',
      host: 'h',
      username: 'u',
      path: '.',
      password: 'pw',
    });
  });

  it('drops echoed "***" markers only on destinations that keep their id', () => {
    const body = { destinations: [{ id: 'a', type: 'smb', password: '***' }, { type: 'smb', password: '***' }, { id: 'b', type: 'sftp', password: 'new' }] };
    expect(dropSecretMarkers(body)).toEqual({ destinations: [{ id: 'a', type: 'smb' }, { type: 'smb', password: '***' }, { id: 'b', type: 'sftp', password: 'new' }] });
    expect(dropSecretMarkers('x')).toBe('x');
    expect(dropSecretMarkers({ destinations: 'x' })).toEqual({ destinations: 'x' });
  });

  it.each([
    ['smb', { server: 'nas', share: 'b', username: 'u', security: 'ntlmv2', driver: 'smbclient' }, { password: 'pw' }],
    ['sftp', { host: 'h', port: 22, username: 'u', path: '.' }, { password: 'pw', privateKey: PRIVATE_KEY }],
    ['dropbox', { path: '/PBX' }, { refreshToken: 'rt' }],
  ] as const)('a %s destination exactly as a response showed it is a valid PATCH entry that sends no secret', (type, settings, secrets) => {
    const shown = toDestinationResponse({ id: ID, type, settings, secrets: sealSecrets(box, secrets) } as unknown as DestinationEntity);
    expect(Object.keys(shown)).toEqual(expect.arrayContaining(Object.keys(secrets).map((f) => `has${f[0].toUpperCase()}${f.slice(1)}`)));
    const entry = (dropSecretMarkers({ destinations: [shown] }) as { destinations: unknown[] }).destinations[0];
    const parsed = validate(patchDestinationSchema, entry);
    expect(splitDestination(parsed as DestinationRecord).secrets).toEqual({});
  });

  it.each([
    ['smb', {}, 'password'],
    ['sftp', {}, 'password'],
    ['dropbox', {}, 'authorizationCode'],
    ['sftp', { privateKey: 'k' }, undefined],
    ['local', {}, undefined],
  ] as const)('missingSecret(%s, %j) → %s', (type, stored, field) => {
    expect(missingSecret(type, stored)?.field).toBe(field);
  });
});

import { DomainError, type FieldError } from '@pbx/contracts';
import type { ConfigurationEntity } from '@pbx/persistence';
import type { z } from 'zod';
import { createArchiveConfigurationSchema } from '../archive-configurations/archive-configuration.schema';
import { validate } from '../common/validation';
import { configurationColumns } from './configuration-draft';
import { toConfigurationResponse } from './configuration.mapper';
import { createBackupConfigurationSchema, patchBackupConfigurationSchema } from './configuration.schema';
import { dropSecretMarkers } from './destination-secrets';

// `encryption` of configuration requests and responses (docs/encryption.md).

const opts = { defaultTimezone: 'Europe/Berlin' };
const create = createBackupConfigurationSchema(opts);
const patch = patchBackupConfigurationSchema(opts);
const createArchive = createArchiveConfigurationSchema(opts);

const KEY = 'age1mrp6dw6yfeucaep9pchjmptgnltr3l3nnmh70z4494hmaupvwvusk7q566';
const SECRET_KEY = 'AGE-SECRET-KEY-1KQZSX6J2TURCRR4F2NYT0LA4JCDNEPTFLSXTEZ84F57T7VE9QG4QHEPYKA';
const PASSPHRASE = 'correct horse battery staple';

const backup = (over: Record<string, unknown> = {}) => ({
  name: 'Nightly',
  reportTo: 'ops@example.com',
  interval: 'manual',
  data: { coreData: true },
  destinations: [{ type: 'local' }],
  ...over,
});

function errorsOf(schema: z.ZodType, body: unknown): FieldError[] {
  try {
    validate(schema, body);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return (err as DomainError).errors;
  }
}

describe('configuration requests: encryption', () => {
  it('defaults to none; takes recipients (the age-keygen line too, stored bare) or a passphrase; archive configurations too', () => {
    expect(validate(create, backup()).encryption).toEqual({ mode: 'none' });
    expect(validate(create, backup({ encryption: { mode: 'recipients', recipients: [`# public key: ${KEY}`] } })).encryption).toEqual({ mode: 'recipients', recipients: [KEY] });
    expect(validate(create, backup({ encryption: { mode: 'passphrase', passphrase: PASSPHRASE } })).encryption).toEqual({ mode: 'passphrase', passphrase: PASSPHRASE });
    const archive = { name: 'Archive', reportTo: 'ops@example.com', interval: 'manual', items: { cdr: { enabled: true, daysToKeep: 90 } }, destinations: [{ type: 'local' }] };
    expect(validate(createArchive, { ...archive, encryption: { mode: 'recipients', recipients: [KEY] } }).encryption).toEqual({ mode: 'recipients', recipients: [KEY] });
  });

  it('names the field of each problem and never repeats the submitted secret', () => {
    const errors = errorsOf(create, backup({ encryption: { mode: 'recipients', recipients: [KEY, SECRET_KEY] } }));
    expect(errors).toEqual([{ field: expect.stringMatching(/^encryption\.recipients(\[1\]|\.1)$/), message: expect.stringContaining('SECRET key') }]);
    expect(JSON.stringify(errors)).not.toContain(SECRET_KEY);
    const short = errorsOf(create, backup({ encryption: { mode: 'passphrase', passphrase: 'too short' } }));
    expect(short).toEqual([{ field: 'encryption.passphrase', message: expect.stringContaining('at least 12') }]);
    expect(JSON.stringify(short)).not.toContain('too short');
    expect(errorsOf(create, backup({ encryption: { mode: 'passphrase' } }))).toEqual([{ field: 'encryption.passphrase', message: expect.stringContaining('required') }]);
  });

  it('PATCH: passphrase mode may omit the passphrase (kept); a response echoed back (hasPassphrase, "***") is accepted', () => {
    expect(validate(patch, { encryption: { mode: 'passphrase' } }).encryption).toEqual({ mode: 'passphrase' });
    const echoed = dropSecretMarkers({ encryption: { mode: 'passphrase', hasPassphrase: true }, name: 'x' });
    expect(validate(patch, echoed).encryption).toEqual({ mode: 'passphrase' });
    expect(validate(patch, dropSecretMarkers({ encryption: { mode: 'passphrase', passphrase: '***' } })).encryption).toEqual({ mode: 'passphrase' });
    expect(validate(patch, {}).encryption).toBeUndefined();
  });

  it('is stored without the passphrase (the service seals it apart) and shown without it', () => {
    const parsed = validate(create, backup({ encryption: { mode: 'passphrase', passphrase: PASSPHRASE } }));
    const columns = configurationColumns(parsed);
    expect(columns.encryption).toEqual({ mode: 'passphrase' });
    expect(JSON.stringify(columns)).not.toContain(PASSPHRASE);

    const entity = {
      id: '8d7e8a0e-9d4f-4a52-9b1f-0f4b2b8f4a11', kind: 'backup', name: 'n', reportTo: 'a@b.c', interval: 'manual', startAt: null, timezone: 'UTC',
      data: { coreData: true, cdrAndVoicemails: false, announcements: false }, keepLast: null, notifyOnSuccess: false, language: 'en',
      nextRunAt: null, lastSuccessAt: null, createdAt: new Date(), updatedAt: new Date(),
    } as unknown as ConfigurationEntity;
    const shown = (encryption: unknown, encryptionPassphrase: string | null) => toConfigurationResponse({ ...entity, encryption, encryptionPassphrase } as ConfigurationEntity, []).encryption;
    expect(shown({ mode: 'passphrase' }, 'v1.k1.sealed')).toEqual({ mode: 'passphrase', hasPassphrase: true });
    expect(shown({ mode: 'recipients', recipients: [KEY] }, null)).toEqual({ mode: 'recipients', recipients: [KEY] });
    expect(shown({ mode: 'none' }, null)).toEqual({ mode: 'none' });
  });
});

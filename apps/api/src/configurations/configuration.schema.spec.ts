import { destinationSchema, patchDestinationSchema, SECRET_FIELDS, SMB_SECURITY_METHODS } from '@pbx/contracts';
import { z } from 'zod';
import { parseStartAt } from '@pbx/scheduling';
import { validate } from '../common/validation';
import { changed, configurationBody, errorsOf, EXISTING_ID, fields, type Body } from '../fixtures.test-helper';
import { nameProblems } from './configuration-fields';
import { createBackupConfigurationSchema, patchBackupConfigurationSchema } from './configuration.schema';
import { withoutSecrets } from './destination-fields';

const create = createBackupConfigurationSchema({ defaultTimezone: 'Europe/Berlin' });
const patch = patchBackupConfigurationSchema({ defaultTimezone: 'Europe/Berlin' });

const FINGERPRINT = `SHA256:${'A1b2C3d4+/'.repeat(4)}abc`;
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';

const validBody = (): Body => configurationBody('Nightly full', { data: { coreData: true, cdrAndVoicemails: true, announcements: false } });
const withDest = (dest: unknown): Body => ({ ...validBody(), destinations: [dest] });

const GOOD_DESTINATIONS: Record<string, unknown[]> = {
  local: [{ type: 'local' }, { type: 'local', path: 'pbx/nightly' }, { type: 'local', path: 'pbx/' }],
  smb: [
    { type: 'smb', server: 'fileserver.example.local', share: 'backups', username: 'backup', password: 's3cret', security: 'ntlmv2' },
    { type: 'smb', server: 'FILESRV01', share: 'backups/pbx/nightly', username: 'EXAMPLE\\backup', password: 'x', security: 'kerberos', port: 445 },
    { type: 'smb', server: '192.168.1.10', share: 'Backup Share/pbx', username: 'backup@example.local', password: 'x', security: 'ntlmssp', driver: 'smbclient' },
    { type: 'smb', server: 'old-nas', share: 'b', username: 'u', password: 'x', security: 'ntlmv1-legacy', driver: 'legacy-smb2' },
  ],
  sftp: [
    { type: 'sftp', host: 'backup.example.com', username: 'pbx', password: 'x' },
    { type: 'sftp', host: '10.0.0.5', port: 2222, username: 'pbx', privateKey: PRIVATE_KEY, path: '/srv/backups', hostKeyFingerprint: FINGERPRINT },
    { type: 'sftp', host: '::1', username: 'pbx', password: 'x', privateKey: PRIVATE_KEY, path: '.' },
    {
      type: 'sftp',
      host: 'sftp-host',
      username: 'pbx',
      privateKey: '-----BEGIN RSA PRIVATE KEY-----\r\nMIIEpAIBAAKCAQEA\r\n-----END RSA PRIVATE KEY-----',
    },
  ],
  dropbox: [
    { type: 'dropbox', authorizationCode: 'AbC123_-xyz.456' },
    { type: 'dropbox', refreshToken: 'sl.refresh-token_value', path: '/PBX Backups' },
  ],
  usb: [{ type: 'usb' }, { type: 'usb', device: 'BACKUP-STICK' }, { type: 'usb', device: 'sdb1' }],
  email: [{ type: 'email', to: 'backup@example.com' }],
  s3: [
    { type: 's3', endpoint: 'https://s3.eu-central-1.amazonaws.com', region: 'eu-central-1', bucket: 'pbx-backups', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' },
    {
      type: 's3', endpoint: 'http://minio.local:9000/', region: 'us-east-1', bucket: 'backup.site-a', prefix: 'pbx/site-a', accessKeyId: 'minio', secretAccessKey: 'x',
      forcePathStyle: true, storageClass: 'STANDARD_IA', objectLockDays: 30, maxUploadBytesPerSecond: 1048576,
    },
    { type: 's3', endpoint: 'http://[::1]:4568', region: 'us-east-1', bucket: 'b12', accessKeyId: 'k', secretAccessKey: 'x' },
  ],
};

describe('createBackupConfigurationSchema: accepted bodies', () => {
  it('accepts the contract example and applies defaults', () => {
    const out = validate(create, validBody());
    expect(out).toEqual({ ...validBody(), notifyOnSuccess: false, language: 'en', encryption: { mode: 'none' }, verify: { afterUpload: 'size' }, webhooks: [] });
  });

  it('applies the default timezone, action, language and data defaults', () => {
    const body = validBody();
    delete body.timezone;
    delete body.action;
    body.data = { announcements: true };
    const out = validate(create, body);
    expect(out.timezone).toBe('Europe/Berlin');
    expect(out.action).toBe('save');
    expect(out.data).toEqual({ coreData: false, cdrAndVoicemails: false, announcements: true });
  });

  it.each(Object.entries(GOOD_DESTINATIONS).flatMap(([kind, list]) => list.map((d, i) => [`${kind} #${i}`, d] as const)))(
    'accepts destination %s',
    (_label, dest) => {
      expect(errorsOf(create, withDest(dest))).toEqual([]);
      expect(errorsOf(destinationSchema, dest)).toEqual([]);
    },
  );

  it('fills destination defaults (smb driver, sftp port and path)', () => {
    const out = validate(create, { ...validBody(), destinations: [GOOD_DESTINATIONS.smb[0], GOOD_DESTINATIONS.sftp[0]] });
    expect(out.destinations[0]).toMatchObject({ driver: 'smbclient' });
    expect(out.destinations[1]).toMatchObject({ port: 22, path: '.' });
  });

  it.each<[string, Body]>([
    ['manual without startAt', { interval: 'manual', startAt: undefined }],
    ['manual with startAt', { interval: 'manual' }],
    ['hourly', { interval: 'hourly' }],
    ['weekly', { interval: 'weekly' }],
    ['monthly', { interval: 'monthly' }],
    ['startAt without seconds', { startAt: '2026-12-01T02:30' }],
    ['startAt with fraction', { startAt: '2026-12-01T02:30:00.250' }],
    ['startAt with Z', { startAt: '2026-12-01T02:30:00Z' }],
    ['startAt with offset', { startAt: '2026-12-01T02:30:00+01:00' }],
    ['startAt in a DST gap (resolved later)', { startAt: '2026-03-29T02:30:00', timezone: 'Europe/Berlin' }],
    ['leap day', { startAt: '2028-02-29T00:00' }],
    ['UTC timezone', { timezone: 'UTC' }],
    ['Etc zone', { timezone: 'Etc/GMT+1' }],
    ['keepLast 1', { keepLast: 1 }],
    ['keepLast 1000', { keepLast: 1000 }],
    ['retention rules', { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, maxAgeDays: 400 }],
    ['upload window crossing midnight', { uploadWindows: [{ from: '22:00', to: '06:00' }] }],
    ['two upload windows', { uploadWindows: [{ from: '00:00', to: '05:30' }, { from: '12:00', to: '13:00' }] }],
    ['no upload windows', { uploadWindows: [] }],
    ['notifyOnSuccess', { notifyOnSuccess: true }],
    ['language de', { language: 'de' }],
    ['saveAndRun', { action: 'saveAndRun' }],
    ['runOnly', { action: 'runOnly' }],
    ['64-character name', { name: 'n'.repeat(64) }],
    ['name with inner spaces, dots and umlauts', { name: 'Täglich v1.2 – Vollsicherung' }],
    ['16 destinations', { destinations: Array.from({ length: 16 }, () => ({ type: 'local' })) }],
  ])('accepts %s', (_label, change) => {
    expect(errorsOf(create, changed(validBody(), change))).toEqual([]);
  });
});

describe('createBackupConfigurationSchema: the validation matrix', () => {
  // [label, change to the valid body, field that must be named, message pattern]
  const cases: Array<[string, Body, string, RegExp]> = [
    ['missing name', { name: undefined }, 'name', /is required/],
    ['empty name', { name: '' }, 'name', /must not be empty/],
    ['65-character name', { name: 'n'.repeat(65) }, 'name', /at most 64/],
    ['name with slash', { name: 'a/b' }, 'name', /must not contain \/ \\ : \* \? " < > \|/],
    ...['\\', ':', '*', '?', '"', '<', '>', '|'].map(
      (c): [string, Body, string, RegExp] => [`name with ${c}`, { name: `a${c}b` }, 'name', /must not contain/],
    ),
    ['name with a control character', { name: 'a\u0007b' }, 'name', /control characters/],
    ['name with a newline', { name: 'a\nb' }, 'name', /control characters/],
    ['name "."', { name: '.' }, 'name', /"\." or "\.\."/],
    ['name ".."', { name: '..' }, 'name', /"\." or "\.\."/],
    ['name with a leading space', { name: ' Nightly' }, 'name', /start or end with a space/],
    ['name with a trailing tab', { name: 'Nightly\t' }, 'name', /start or end with a space|control/],
    ['name ending in a dot', { name: 'Nightly.' }, 'name', /end with a dot/],
    ['reserved device name', { name: 'NUL' }, 'name', /reserved device name/],
    ['name with a right-to-left override', { name: 'Nightly\u202Etxt.exe' }, 'name', /invisible formatting characters/],
    ['name with a zero-width space', { name: 'Night\u200Bly' }, 'name', /invisible formatting characters/],
    ['name with an unpaired surrogate', { name: 'Night\uD800ly' }, 'name', /unpaired surrogates/],
    ['name with a percent-encoded slash', { name: '..%2fx' }, 'name', /percent-encoded/],
    ['name not a string', { name: 42 }, 'name', /must be a string/],
    ['missing reportTo', { reportTo: undefined }, 'reportTo', /is required/],
    ['bad reportTo', { reportTo: 'ops-at-example.com' }, 'reportTo', /e-mail address/],
    ['two addresses in reportTo', { reportTo: 'a@example.com,b@example.com' }, 'reportTo', /e-mail address/],
    ['missing interval', { interval: undefined }, 'interval', /is required/],
    ['unknown interval', { interval: 'yearly' }, 'interval', /one of manual, hourly, daily, weekly, monthly/],
    ['missing startAt for daily', { startAt: undefined }, 'startAt', /required when interval is "daily"/],
    ['startAt with a space', { startAt: '2026-12-01 02:30:00' }, 'startAt', /like 2026-12-01T02:30/],
    ['startAt date only', { startAt: '2026-12-01' }, 'startAt', /like 2026-12-01T02:30/],
    ['startAt prose', { startAt: 'tomorrow at 2' }, 'startAt', /like 2026-12-01T02:30/],
    ['startAt 30 February', { startAt: '2026-02-30T02:30:00' }, 'startAt', /not a valid date/],
    ['startAt 29 February of a common year', { startAt: '2027-02-29T02:30' }, 'startAt', /not a valid date/],
    ['startAt 31 April', { startAt: '2026-04-31T02:30' }, 'startAt', /not a valid date/],
    ['startAt hour 24', { startAt: '2026-12-01T24:00' }, 'startAt', /like 2026-12-01T02:30/],
    ['startAt as a number', { startAt: 1764552600000 }, 'startAt', /must be a date and time/],
    ['unknown timezone', { timezone: 'Mars/Olympus_Mons' }, 'timezone', /IANA time zone/],
    ['offset as timezone', { timezone: '+01:00' }, 'timezone', /IANA time zone/],
    ['empty timezone', { timezone: '' }, 'timezone', /IANA time zone/],
    ['missing data', { data: undefined }, 'data', /is required/],
    ['empty data', { data: {} }, 'data', /at least one of coreData, cdrAndVoicemails, announcements/],
    ['all data false', { data: { coreData: false, cdrAndVoicemails: false, announcements: false } }, 'data', /at least one/],
    ['data flag not boolean', { data: { coreData: 'yes' } }, 'data.coreData', /true or false/],
    ['unknown data key', { data: { coreData: true, voicemail: true } }, 'data.voicemail', /not a known field/],
    ['data as a list', { data: ['coreData'] }, 'data', /must be an object/],
    ['missing destinations', { destinations: undefined }, 'destinations', /is required/],
    ['no destinations', { destinations: [] }, 'destinations', /at least one destination/],
    ['17 destinations', { destinations: Array.from({ length: 17 }, () => ({ type: 'local' })) }, 'destinations', /at most 16/],
    ['destinations as an object', { destinations: { type: 'local' } }, 'destinations', /list of destinations/],
    ['keepLast 0', { keepLast: 0 }, 'keepLast', /1 to 1000/],
    ['keepLast 1001', { keepLast: 1001 }, 'keepLast', /1 to 1000/],
    ['keepLast fraction', { keepLast: 2.5 }, 'keepLast', /whole number/],
    ['keepLast string', { keepLast: '5' }, 'keepLast', /whole number/],
    ['keepDaily 0', { keepDaily: 0 }, 'keepDaily', /1 to 1000/],
    ['keepWeekly fraction', { keepWeekly: 1.5 }, 'keepWeekly', /whole number/],
    ['keepMonthly 1001', { keepMonthly: 1001 }, 'keepMonthly', /1 to 1000/],
    ['maxAgeDays 0', { maxAgeDays: 0 }, 'maxAgeDays', /1 to 36500/],
    ['upload window 24:00', { uploadWindows: [{ from: '22:00', to: '24:00' }] }, 'uploadWindows[0].to', /00:00" to "23:59/],
    ['upload window without minutes', { uploadWindows: [{ from: '22', to: '06:00' }] }, 'uploadWindows[0].from', /00:00" to "23:59/],
    ['empty upload window', { uploadWindows: [{ from: '06:00', to: '06:00' }] }, 'uploadWindows[0].to', /must differ/],
    ['upload window with an extra field', { uploadWindows: [{ from: '22:00', to: '06:00', days: 'mon' }] }, 'uploadWindows[0].days', /not a known field/],
    ['upload windows as an object', { uploadWindows: { from: '22:00', to: '06:00' } }, 'uploadWindows', /list of/],
    ['notifyOnSuccess string', { notifyOnSuccess: 'true' }, 'notifyOnSuccess', /true or false/],
    ['language fr', { language: 'fr' }, 'language', /one of en, de/],
    ['unknown action', { action: 'run' }, 'action', /one of save, saveAndRun, runOnly/],
    ['unknown top-level field', { nmae: 'x' }, 'nmae', /not a known field/],
  ];

  it.each(cases)('%s → names the field', (_label, change, field, message) => {
    const errors = errorsOf(create, changed(validBody(), change));
    const hit = errors.find((e) => e.field === field);
    expect(hit).toBeDefined();
    expect(hit?.message).toMatch(message);
  });

  it('stores the name NFC, so every spelling makes the same folder, and checks its length in that form', () => {
    const nfc = 'Caf\u00e9 nightly';
    expect(validate(create, { ...validBody(), name: 'Cafe\u0301 nightly' }).name).toBe(nfc);
    expect(validate(patch, { name: 'Cafe\u0301 nightly' }).name).toBe(nfc);
    // 64 characters once composed, 65 as typed in NFD.
    expect(validate(create, { ...validBody(), name: `${'x'.repeat(63)}e\u0301` }).name).toHaveLength(64);
  });

  it('startAt must parse in the timezone: wall time is checked against the zone, not the server', () => {
    const at = (startAt: string) => {
      const parsed = parseStartAt(startAt, 'Europe/Berlin');
      return parsed.ok ? parsed.anchor : undefined;
    };
    expect(at('2026-03-29T02:30:00')?.isValid).toBe(true);
    expect(at('2026-02-30T02:30:00')).toBeUndefined();
    expect(at('2026-12-01T02:30:00')?.toISO()).toBe('2026-12-01T02:30:00.000+01:00');
    expect(at('2026-12-01T02:30:00-05:00')?.toUTC().hour).toBe(7);
  });
});

describe('destinations: the validation matrix', () => {
  const smb = GOOD_DESTINATIONS.smb[0] as Body;
  const sftp = GOOD_DESTINATIONS.sftp[0] as Body;
  const s3 = { type: 's3', endpoint: 'https://s3.example.com', region: 'eu-central-1', bucket: 'pbx', accessKeyId: 'k', secretAccessKey: 'x' };
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['unknown type', { type: 'ftp' }, 'destinations[0].type', /one of local, smb, sftp, dropbox, usb, email, s3/],
    ['missing type', { path: 'x' }, 'destinations[0].type', /is required/],
    ['not an object', 'local', 'destinations[0]', /must be an object/],
    ['null', null, 'destinations[0]', /must be an object/],
    ['unknown field', { type: 'local', pth: 'x' }, 'destinations[0].pth', /not a known field/],
    ['id on create', { type: 'local', id: EXISTING_ID }, 'destinations[0].id', /not a known field/],
    // local
    ['local absolute path', { type: 'local', path: '/etc' }, 'destinations[0].path', /relative/],
    ['local .. segment', { type: 'local', path: 'a/../../etc' }, 'destinations[0].path', /"\." or "\.\." segments/],
    ['local leading ..', { type: 'local', path: '../x' }, 'destinations[0].path', /"\." or "\.\." segments/],
    ['local backslash', { type: 'local', path: 'a\\b' }, 'destinations[0].path', /not \\/],
    ['local empty path', { type: 'local', path: '' }, 'destinations[0].path', /must not be empty/],
    ['local empty segment', { type: 'local', path: 'a//b' }, 'destinations[0].path', /empty segments/],
    ['local control char', { type: 'local', path: 'a\u0000b' }, 'destinations[0].path', /control/],
    // smb
    ['smb server with protocol', { ...smb, server: 'smb://fileserver' }, 'destinations[0].server', /without a protocol \(remove "smb:\/\/"\)/],
    ['smb server UNC', { ...smb, server: '\\\\fileserver' }, 'destinations[0].server', /without slashes/],
    ['smb server with share', { ...smb, server: 'fileserver/backups' }, 'destinations[0].server', /without slashes/],
    ['smb server empty', { ...smb, server: '' }, 'destinations[0].server', /must not be empty/],
    ['smb server with space', { ...smb, server: 'file server' }, 'destinations[0].server', /host name or IP address/],
    ['smb missing server', { ...smb, server: undefined }, 'destinations[0].server', /is required/],
    ['smb share with backslash', { ...smb, share: 'backups\\pbx' }, 'destinations[0].share', /not \\/],
    ['smb share leading slash', { ...smb, share: '/backups' }, 'destinations[0].share', /start with the share name/],
    ['smb share empty segment', { ...smb, share: 'backups//pbx' }, 'destinations[0].share', /empty segments/],
    ['smb share ..', { ...smb, share: 'backups/../admin$' }, 'destinations[0].share', /"\." or "\.\."/],
    ['smb share forbidden char', { ...smb, share: 'backups/a:b' }, 'destinations[0].share', /must not contain/],
    ['smb share empty', { ...smb, share: '' }, 'destinations[0].share', /must not be empty/],
    ['smb empty username', { ...smb, username: '' }, 'destinations[0].username', /must not be empty/],
    ['smb missing password', { ...smb, password: undefined }, 'destinations[0].password', /is required/],
    ['smb empty password', { ...smb, password: '' }, 'destinations[0].password', /must not be empty/],
    ['smb missing security', { ...smb, security: undefined }, 'destinations[0].security', /is required/],
    ['smb unknown security', { ...smb, security: 'ntlm' }, 'destinations[0].security', /one of ntlmv2, ntlmssp, ntlmssp-encrypt, kerberos, ntlmv1-legacy/],
    ['smb port 0', { ...smb, port: 0 }, 'destinations[0].port', /1 to 65535/],
    ['smb port 65536', { ...smb, port: 65536 }, 'destinations[0].port', /1 to 65535/],
    ['smb unknown driver', { ...smb, driver: 'cifs' }, 'destinations[0].driver', /one of smbclient, legacy-smb2/],
    ['smb ntlmv1 without legacy driver', { ...smb, security: 'ntlmv1-legacy' }, 'destinations[0].driver', /must be "legacy-smb2" when security is "ntlmv1-legacy"/],
    ['smb ntlmv1 with smbclient', { ...smb, security: 'ntlmv1-legacy', driver: 'smbclient' }, 'destinations[0].driver', /legacy-smb2/],
    // sftp
    ['sftp host with protocol', { ...sftp, host: 'sftp://backup.example.com' }, 'destinations[0].host', /remove "sftp:\/\/"/],
    ['sftp host with port', { ...sftp, host: 'backup.example.com:22' }, 'destinations[0].host', /port field/],
    ['sftp host with path', { ...sftp, host: 'backup.example.com/srv' }, 'destinations[0].host', /without slashes/],
    ['sftp host with user', { ...sftp, host: 'pbx@backup.example.com' }, 'destinations[0].host', /host name or IP address/],
    ['sftp bad IPv4', { ...sftp, host: '300.1.1.1' }, 'destinations[0].host', /not a valid IP address/],
    ['sftp bracketed IPv6', { ...sftp, host: '[::1]' }, 'destinations[0].host', /without brackets/],
    ['sftp host label too long', { ...sftp, host: `${'a'.repeat(64)}.example.com` }, 'destinations[0].host', /host name or IP address/],
    ['sftp port string', { ...sftp, port: '22' }, 'destinations[0].port', /whole number/],
    ['sftp port 0', { ...sftp, port: 0 }, 'destinations[0].port', /1 to 65535/],
    ['sftp missing username', { ...sftp, username: undefined }, 'destinations[0].username', /is required/],
    ['sftp neither password nor key', { ...sftp, password: undefined }, 'destinations[0].password', /password or a privateKey is required/],
    ['sftp key not a key', { ...sftp, privateKey: 'ssh-rsa AAAAB3NzaC1yc2E public key' }, 'destinations[0].privateKey', /OpenSSH or PEM private key/],
    ['sftp public key', { ...sftp, privateKey: '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----' }, 'destinations[0].privateKey', /private key/],
    ['sftp relative path', { ...sftp, path: 'backups' }, 'destinations[0].path', /absolute path starting with \/, or "\."/],
    ['sftp path ..', { ...sftp, path: '/srv/../etc' }, 'destinations[0].path', /"\." or "\.\."/],
    ['sftp fingerprint short', { ...sftp, hostKeyFingerprint: 'SHA256:abc' }, 'destinations[0].hostKeyFingerprint', /SHA256: followed by 43/],
    ['sftp fingerprint md5', { ...sftp, hostKeyFingerprint: 'MD5:12:34:56' }, 'destinations[0].hostKeyFingerprint', /SHA256:/],
    ['sftp fingerprint padded', { ...sftp, hostKeyFingerprint: `${FINGERPRINT}=` }, 'destinations[0].hostKeyFingerprint', /SHA256:/],
    // dropbox
    ['dropbox without code or token', { type: 'dropbox' }, 'destinations[0].authorizationCode', /confirmation key/],
    ['dropbox with both', { type: 'dropbox', authorizationCode: 'a', refreshToken: 'b' }, 'destinations[0].refreshToken', /either authorizationCode or refreshToken/],
    ['dropbox code with spaces', { type: 'dropbox', authorizationCode: 'abc def' }, 'destinations[0].authorizationCode', /spaces/],
    ['dropbox empty code', { type: 'dropbox', authorizationCode: '' }, 'destinations[0].authorizationCode', /must not be empty/],
    ['dropbox relative path', { type: 'dropbox', authorizationCode: 'a', path: 'PBX' }, 'destinations[0].path', /absolute path/],
    ['dropbox path ..', { type: 'dropbox', authorizationCode: 'a', path: '/PBX/..' }, 'destinations[0].path', /"\." or "\.\."/],
    // usb
    ['usb device with slash', { type: 'usb', device: 'sdb/1' }, 'destinations[0].device', /must not contain/],
    ['usb device ..', { type: 'usb', device: '..' }, 'destinations[0].device', /"\." or "\.\."/],
    ['usb device empty', { type: 'usb', device: '' }, 'destinations[0].device', /must not be empty/],
    ['usb device too long', { type: 'usb', device: 'd'.repeat(256) }, 'destinations[0].device', /255 bytes/],
    // s3
    ['s3 without secret key', { type: 's3', endpoint: 'https://s3.example.com', region: 'eu-central-1', bucket: 'pbx', accessKeyId: 'k' }, 'destinations[0].secretAccessKey', /is required/],
    ['s3 endpoint without protocol', { ...s3, endpoint: 's3.example.com' }, 'destinations[0].endpoint', /http\(s\) URL/],
    ['s3 endpoint ftp', { ...s3, endpoint: 'ftp://s3.example.com' }, 'destinations[0].endpoint', /https:\/\/ or http:\/\//],
    ['s3 endpoint with a path', { ...s3, endpoint: 'https://s3.example.com/pbx' }, 'destinations[0].endpoint', /without a path/],
    ['s3 endpoint with credentials', { ...s3, endpoint: 'https://k:s@s3.example.com' }, 'destinations[0].endpoint', /credentials/],
    ['s3 bucket upper case', { ...s3, bucket: 'PBX' }, 'destinations[0].bucket', /lower-case/],
    ['s3 bucket too short', { ...s3, bucket: 'ab' }, 'destinations[0].bucket', /3 to 63/],
    ['s3 region with spaces', { ...s3, region: 'eu central' }, 'destinations[0].region', /region name/],
    ['s3 prefix absolute', { ...s3, prefix: '/pbx' }, 'destinations[0].prefix', /relative/],
    ['s3 prefix ..', { ...s3, prefix: 'a/../b' }, 'destinations[0].prefix', /"\." or "\.\."/],
    ['s3 storage class GLACIER', { ...s3, storageClass: 'GLACIER' }, 'destinations[0].storageClass', /one of STANDARD/],
    ['s3 objectLockDays 0', { ...s3, objectLockDays: 0 }, 'destinations[0].objectLockDays', /whole number from 1 to 36500/],
    ['s3 forcePathStyle not a boolean', { ...s3, forcePathStyle: 'yes' }, 'destinations[0].forcePathStyle', /true or false/],
    // email
    ['email missing to', { type: 'email' }, 'destinations[0].to', /is required/],
    ['email bad to', { type: 'email', to: 'backup' }, 'destinations[0].to', /e-mail address/],
  ];

  it.each(cases)('%s → names the field', (_label, dest, field, message) => {
    const d = typeof dest === 'object' && dest !== null ? Object.fromEntries(Object.entries(dest).filter(([, v]) => v !== undefined)) : dest;
    const errors = errorsOf(create, withDest(d));
    const hit = errors.find((e) => e.field === field);
    if (!hit) throw new Error(`expected an error on ${field}, got ${JSON.stringify(errors)}`);
    expect(hit.message).toMatch(message);
    // The same rules apply to POST …/:id/destinations, with paths relative to the destination.
    const single = errorsOf(destinationSchema, d);
    expect(fields(single)).toContain(field.replace(/^destinations\[0\]\.?/, '') || 'body');
  });

  it('the error index names the destination that is wrong', () => {
    const errors = errorsOf(create, { ...validBody(), destinations: [{ type: 'local' }, { type: 'local' }, { type: 'email', to: 'x' }] });
    expect(fields(errors)).toEqual(['destinations[2].to']);
  });

  it('SMB_SECURITY_METHODS is the accepted list', () => {
    for (const security of SMB_SECURITY_METHODS) {
      const driver = security === 'ntlmv1-legacy' ? 'legacy-smb2' : 'smbclient';
      expect(errorsOf(create, withDest({ ...smb, security, driver }))).toEqual([]);
    }
  });
});

describe('every error is listed at once', () => {
  it('reports all bad fields of a body in one DomainError', () => {
    const errors = errorsOf(create, {
      name: 'a/b',
      reportTo: 'nope',
      interval: 'weekly',
      timezone: 'Nowhere/Land',
      data: { coreData: false },
      destinations: [
        { type: 'sftp', host: 'sftp://h', port: 0, username: 'u' },
        { type: 'smb', server: 's', share: 'a\\b', username: 'u', security: 'ntlmv1-legacy' },
        { type: 'nfs' },
        { type: 'dropbox' },
      ],
      keepLast: 0,
      language: 'fr',
      action: 'later',
      colour: 'blue',
    });
    expect(fields(errors).sort()).toEqual(
      [
        'name',
        'reportTo',
        'startAt',
        'timezone',
        'data',
        'destinations[0].host',
        'destinations[0].port',
        'destinations[0].password',
        'destinations[1].share',
        'destinations[1].password',
        'destinations[1].driver',
        'destinations[2].type',
        'destinations[3].authorizationCode',
        'keepLast',
        'language',
        'action',
        'colour',
      ].sort(),
    );
  });

  it('lists several problems of one field', () => {
    const errors = errorsOf(create, { ...validBody(), name: ' a|b' });
    expect(errors.filter((e) => e.field === 'name')).toHaveLength(2);
  });

  it('never echoes a secret in a message', () => {
    const secret = 'hunter2-very-secret-value';
    const errors = errorsOf(create, {
      ...validBody(),
      name: '',
      destinations: [
        { type: 'sftp', host: 'sftp://x', username: 'u', password: secret, privateKey: `${secret} not a key` },
        { type: 'dropbox', authorizationCode: `${secret} with space` },
        { type: 'smb', server: 's', share: 'x', username: 'u', password: secret, security: 'bad', extra: secret },
      ],
    });
    expect(errors.length).toBeGreaterThan(3);
    expect(JSON.stringify(errors)).not.toContain(secret);
  });
});

describe('patchBackupConfigurationSchema', () => {
  it('accepts an empty patch and adds no defaults', () => {
    expect(validate(patch, {})).toEqual({});
    expect(validate(patch, { name: 'Renamed' })).toEqual({ name: 'Renamed' });
  });

  it('validates each given field by the create rules', () => {
    const errors = errorsOf(patch, { name: '..', interval: 'yearly', startAt: '2026-02-30T00:00', data: {}, keepLast: 0, destinations: [] });
    expect(fields(errors).sort()).toEqual(['data', 'destinations', 'interval', 'keepLast', 'name', 'startAt'].sort());
  });

  it('does not require startAt (the stored one may apply)', () => {
    expect(errorsOf(patch, { interval: 'daily' })).toEqual([]);
  });

  it('refuses action', () => {
    const errors = errorsOf(patch, { action: 'save' });
    expect(errors).toEqual([{ field: 'action', message: expect.stringMatching(/only allowed when creating/) }]);
  });

  it('keepLast null removes the limit', () => {
    expect(validate(patch, { keepLast: null })).toEqual({ keepLast: null });
  });

  it('a destination with an id may omit its secrets (keep the stored ones)', () => {
    const out = validate(patch, {
      destinations: [
        { id: EXISTING_ID, type: 'smb', server: 's', share: 'b', username: 'u', security: 'ntlmv2' },
        { id: EXISTING_ID, type: 'sftp', host: 'h', username: 'u' },
        { id: EXISTING_ID, type: 'dropbox', path: '/PBX' },
        { type: 'local' },
      ],
    });
    expect(out.destinations).toHaveLength(4);
    expect(out.destinations?.[0]).not.toHaveProperty('password');
  });

  it('a destination with an id may still replace a secret', () => {
    expect(errorsOf(patch, { destinations: [{ id: EXISTING_ID, type: 'sftp', host: 'h', username: 'u', password: 'new' }] })).toEqual([]);
  });

  it('a destination without an id follows the create rules', () => {
    const errors = errorsOf(patch, {
      destinations: [
        { type: 'smb', server: 's', share: 'b', username: 'u', security: 'ntlmv2' },
        { type: 'sftp', host: 'h', username: 'u' },
        { type: 'dropbox' },
      ],
    });
    expect(fields(errors)).toEqual(['destinations[0].password', 'destinations[1].password', 'destinations[2].authorizationCode']);
  });

  it('refuses a malformed destination id and still both Dropbox credentials', () => {
    const errors = errorsOf(patch, {
      destinations: [
        { id: 'not-a-uuid', type: 'local' },
        { id: EXISTING_ID, type: 'dropbox', authorizationCode: 'a', refreshToken: 'b' },
      ],
    });
    expect(fields(errors)).toEqual(['destinations[0].id', 'destinations[1].refreshToken']);
  });

  it('patchDestinationSchema validates one entry', () => {
    expect(errorsOf(patchDestinationSchema, { id: EXISTING_ID, type: 'sftp', host: 'h', username: 'u' })).toEqual([]);
    expect(fields(errorsOf(patchDestinationSchema, { type: 'sftp', host: 'h', username: 'u' }))).toEqual(['password']);
  });
});

describe('helpers', () => {
  it('SECRET_FIELDS lists the write-only fields and withoutSecrets drops them', () => {
    expect([...SECRET_FIELDS].sort()).toEqual(['authorizationCode', 'password', 'privateKey', 'refreshToken', 'secretAccessKey']);
    const dest = validate(destinationSchema, { type: 'sftp', host: 'h', username: 'u', password: 'p', privateKey: PRIVATE_KEY });
    const safe = withoutSecrets(dest);
    expect(safe).toEqual({ type: 'sftp', host: 'h', username: 'u', port: 22, path: '.' });
    expect(dest).toHaveProperty('password', 'p'); // the input is not modified
  });

  it('nameProblems is empty exactly for usable names', () => {
    expect(nameProblems('Nightly full')).toEqual([]);
    expect(nameProblems('')).toEqual(['must not be empty']);
    expect(nameProblems('x'.repeat(65))).toEqual(['must be at most 64 characters']);
    expect(nameProblems('a?')).toHaveLength(1);
  });

  it('refuses an invalid default timezone when the schema is built', () => {
    expect(() => createBackupConfigurationSchema({ defaultTimezone: 'Not/AZone' })).toThrow(/defaultTimezone/);
  });
});

describe('JSON Schema (OpenAPI)', () => {
  it.each([
    ['create', create],
    ['patch', patch],
    ['destination', destinationSchema],
    ['patch destination', patchDestinationSchema],
  ] as const)('%s converts with z.toJSONSchema in both directions', (_label, schema) => {
    for (const io of ['input', 'output'] as const) {
      const json = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
      expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    }
  });

  it('describes the contract: field names, required fields, strictness, kinds, write-only secrets', () => {
    const json = z.toJSONSchema(create, { io: 'input' }) as {
      properties: Record<string, { default?: unknown; items?: { oneOf: Array<{ properties: Record<string, { const?: string; writeOnly?: boolean }> }> } }>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(Object.keys(json.properties).sort()).toEqual(
      ['action', 'data', 'destinations', 'encryption', 'interval', 'keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly', 'maxAgeDays', 'uploadWindows', 'language', 'name', 'notifyOnSuccess', 'reportTo', 'startAt', 'timezone', 'verify', 'webhooks'].sort(),
    );
    expect(json.required.sort()).toEqual(['data', 'destinations', 'interval', 'name', 'reportTo']);
    expect(json.additionalProperties).toBe(false);
    expect(json.properties.timezone.default).toBe('Europe/Berlin');
    const kinds = json.properties.destinations.items?.oneOf ?? [];
    expect(kinds.map((k) => k.properties.type.const)).toEqual(['local', 'smb', 'sftp', 'dropbox', 'usb', 'email', 's3']);
    expect(kinds[6].properties.secretAccessKey.writeOnly).toBe(true);
    expect(kinds[6].properties.accessKeyId.writeOnly).toBeUndefined();
    const sftp = kinds[2].properties;
    expect(sftp.password.writeOnly).toBe(true);
    expect(sftp.privateKey.writeOnly).toBe(true);
  });
});

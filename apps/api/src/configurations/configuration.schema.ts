import { isIP } from 'node:net';
import { z } from 'zod';
import {
  absolutePathProblems,
  canonicalName,
  checkStartAt,
  DESTINATION_TYPES,
  INTERVALS,
  isInterval,
  isValidTimezone,
  LANGUAGES,
  portableNameProblems,
  relativePathProblems,
  sftpPathProblems,
  sharePathProblems,
} from '@pbx/contracts';

/**
 * Request schemas of /api/v1/backup-configurations (and the building blocks the archive
 * configurations share). Every message is written for an admin reading it next to the field
 * name, e.g. `destinations[0].host: must not contain a port (use the port field)`; no message
 * ever repeats the submitted value, so secrets never end up in an error response or a log.
 *
 * All schemas convert with `z.toJSONSchema(schema, { io: 'input' })` (refinements are not
 * represented; they are re-checked on every request anyway).
 */

export const ACTIONS = ['save', 'saveAndRun', 'runOnly'] as const;
export type ConfigurationAction = (typeof ACTIONS)[number];
/** SMB authentication methods; the destinations lib maps them onto its drivers. */
export const SMB_SECURITY_METHODS = ['ntlmv2', 'ntlmssp', 'ntlmssp-encrypt', 'kerberos', 'ntlmv1-legacy'] as const;
export type SmbSecurityMethod = (typeof SMB_SECURITY_METHODS)[number];
export const SMB_DRIVERS = ['smbclient', 'legacy-smb2'] as const;
export type SmbDriver = (typeof SMB_DRIVERS)[number];
/** Write-only destination fields: sealed at rest, never returned by the api. */
export const SECRET_FIELDS = ['password', 'privateKey', 'authorizationCode', 'refreshToken'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];

export const NAME_MAX_LENGTH = 64;
export const MAX_DESTINATIONS = 16;
export const KEEP_LAST_MAX = 1000;

export interface ConfigurationSchemaOptions {
  /** IANA zone used when a create request has no `timezone` (the server's zone). */
  defaultTimezone: string;
}

// ---------------------------------------------------------------------------------------------
// Messages and small building blocks

type RawIssue = z.core.$ZodRawIssue;

const isMissing = (iss: RawIssue) => iss.input === undefined;
/** Error map for a type: "is required" when absent, otherwise "must be <what>". */
const mustBe = (what: string) => (iss: RawIssue) => (isMissing(iss) ? 'is required' : `must be ${what}`);
const oneOfText = (values: readonly string[]) => `one of ${values.join(', ')}`;

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const asRecord = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});

type Check = (value: string) => string | string[] | undefined;

/** A string schema with custom problem checks; every problem found becomes its own issue. */
function checkedString(what: string, check: Check) {
  return z.string({ error: mustBe(what) }).superRefine((value, ctx) => {
    const found = check(value);
    for (const message of found === undefined ? [] : Array.isArray(found) ? found : [found]) {
      ctx.addIssue({ code: 'custom', message });
    }
  });
}

function plainText(min: number, max: number) {
  return checkedString('a string', (v) => {
    const problems: string[] = [];
    if (v.length < min) problems.push(min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
    if (v.length > max) problems.push(`must be at most ${max} characters`);
    if (CONTROL_CHARS.test(v)) problems.push('must not contain control characters');
    return problems;
  });
}

const bool = () => z.boolean({ error: mustBe('true or false') });
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: mustBe(oneOfText(values)) });
const intBetween = (min: number, max: number) =>
  z
    .number({ error: mustBe(`a whole number from ${min} to ${max}`) })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });
const email = () =>
  z.email({ error: mustBe('an e-mail address like admin@example.com') }).max(254, { error: 'must be at most 254 characters' });

// ---------------------------------------------------------------------------------------------
// Configuration name: it becomes a folder name on every destination

/** Everything wrong with a configuration name; empty when it is usable as a folder name. */
export function nameProblems(v: string): string[] {
  if (v.length === 0) return ['must not be empty'];
  return [...(v.length > NAME_MAX_LENGTH ? [`must be at most ${NAME_MAX_LENGTH} characters`] : []), ...portableNameProblems(v)];
}

// Stored NFC, so every spelling of a name makes the same folder; the checks (length as zod
// checks so the JSON Schema shows minLength/maxLength) judge the stored form.
export const configurationNameSchema = z
  .string({ error: mustBe('a string') })
  .overwrite(canonicalName)
  .min(1, { error: 'must not be empty' })
  .max(NAME_MAX_LENGTH, { error: `must be at most ${NAME_MAX_LENGTH} characters` })
  .superRefine((v, ctx) => {
    if (v.length === 0) return;
    for (const message of portableNameProblems(v)) ctx.addIssue({ code: 'custom', message });
  })
  .meta({ description: 'Unique name (compared after Unicode NFC normalisation and case folding); stored NFC; also the folder name on every destination.' });

// ---------------------------------------------------------------------------------------------
// Schedule: interval, startAt, timezone

// The contracts' check is the scheduler's too: what passes here, the scheduler can read.
const startAtSchema = checkedString('a date and time like 2026-12-01T02:30:00', (v) => {
  const check = checkStartAt(v);
  if (check.ok) return undefined;
  return check.problem === 'date'
    ? 'is not a valid date'
    : 'must be a local date and time like 2026-12-01T02:30 or 2026-12-01T02:30:00, or an ISO time with offset like 2026-12-01T02:30:00+01:00';
}).meta({ description: 'First automatic start and anchor of the interval: wall time in `timezone` (e.g. 2026-12-01T02:30:00) or ISO time with offset. Required unless interval is manual.' });

const timezoneSchema = checkedString('an IANA time zone like Europe/Berlin', (v) =>
  isValidTimezone(v) ? undefined : 'must be an IANA time zone like Europe/Berlin or UTC',
).meta({ description: 'IANA time zone of startAt and of the schedule; defaults to the server time zone.' });

// ---------------------------------------------------------------------------------------------
// Hosts and paths. The path rules are @pbx/contracts' canonical-input functions: the adapters
// check a stored destination with the same ones, so what is accepted here is delivered there.

const HOST_LABEL = '[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOSTNAME = new RegExp(`^${HOST_LABEL}(\\.${HOST_LABEL})*$`);

function hostProblems(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  const protocol = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v);
  if (protocol) return `must be a host name or IP address without a protocol (remove "${protocol[1].toLowerCase()}://")`;
  if (/[/\\]/.test(v)) return 'must be a host name or IP address only, without slashes or a path';
  if (isIP(v) !== 0) return undefined;
  if (/^\[.*\]$/.test(v)) return 'must be an IPv6 address without brackets';
  if (v.includes(':')) return 'must not contain a port (use the port field)';
  if (/^[\d.]+$/.test(v)) return 'is not a valid IP address';
  if (v.length > 253 || !HOSTNAME.test(v)) return 'must be a host name or IP address';
  return undefined;
}

const hostSchema = () => checkedString('a host name or IP address', hostProblems);

const PRIVATE_KEY =
  /^\s*-----BEGIN ((?:OPENSSH|RSA|DSA|EC|ENCRYPTED) )?PRIVATE KEY-----\r?\n[\s\S]+?\r?\n-----END \1PRIVATE KEY-----\s*$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

const writeOnly = { writeOnly: true, description: 'Write-only: stored encrypted, never returned. On PATCH, omit it on a destination with an id to keep the stored value.' };

const secretText = (max: number) =>
  checkedString('a string', (v) => {
    if (v.length === 0) return 'must not be empty';
    if (v.length > max) return `must be at most ${max} characters`;
    return undefined;
  }).meta(writeOnly);
const tokenText = () =>
  checkedString('a string', (v) => {
    if (v.length === 0) return 'must not be empty';
    if (v.length > 4096) return 'must be at most 4096 characters';
    if (/\s/.test(v)) return 'must not contain spaces or line breaks (copy it again without them)';
    return undefined;
  }).meta(writeOnly);
const privateKeyText = () =>
  checkedString('a string', (v) => {
    if (v.length > 16384) return 'must be at most 16384 characters';
    if (!PRIVATE_KEY.test(v)) return 'must be an OpenSSH or PEM private key (-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----)';
    return undefined;
  }).meta(writeOnly);

// ---------------------------------------------------------------------------------------------
// Destinations

type SchemaMode = 'create' | 'patch';

/** A PATCH entry that names a stored destination: omitted secrets mean "keep". */
const keepsStoredSecrets = (v: object) => 'id' in v && typeof v.id === 'string';
// Requirement checks also run when another field of the destination failed, so every problem
// is listed at once; the callbacks only compare values, whatever their type.
const evenWithOtherErrors = { when: (payload: z.core.ParsePayload) => isObject(payload.value) };

/**
 * The destination kinds as sent on create. The requirement checks live in refinements (not in
 * the shapes) because a PATCH entry with an `id` may omit secrets; on create `id` is refused
 * as an unknown field, so the same refinements serve both.
 */
function destinationKinds() {
  const local = z.strictObject({
    type: z.literal('local'),
    path: checkedString('a relative path', relativePathProblems).optional(),
  });

  const smb = z
    .strictObject({
      type: z.literal('smb'),
      server: hostSchema(),
      share: checkedString('a share name', sharePathProblems),
      username: plainText(1, 256),
      password: secretText(1024).optional(),
      security: oneOf(SMB_SECURITY_METHODS),
      port: intBetween(1, 65535).optional(),
      driver: oneOf(SMB_DRIVERS).default('smbclient'),
    })
    .superRefine((v, ctx) => {
      if (v.password === undefined && !keepsStoredSecrets(v)) ctx.addIssue({ code: 'custom', path: ['password'], message: 'is required' });
      if (v.security === 'ntlmv1-legacy' && v.driver !== 'legacy-smb2') {
        if ((SMB_DRIVERS as readonly unknown[]).includes(v.driver)) {
          ctx.addIssue({ code: 'custom', path: ['driver'], message: 'must be "legacy-smb2" when security is "ntlmv1-legacy"' });
        }
      }
    }, evenWithOtherErrors);

  const sftp = z
    .strictObject({
      type: z.literal('sftp'),
      host: hostSchema(),
      port: intBetween(1, 65535).default(22),
      username: plainText(1, 256),
      password: secretText(1024).optional(),
      privateKey: privateKeyText().optional(),
      path: checkedString('a path', sftpPathProblems).default('.'),
      hostKeyFingerprint: z
        .string({ error: mustBe('a host key fingerprint') })
        .regex(FINGERPRINT, { error: 'must look like SHA256: followed by 43 base64 characters (as printed by ssh-keygen -l)' })
        .optional(),
      /** Without a fingerprint: pin the key the server presents when saving (not stored). */
      trustOnFirstUse: bool().optional(),
    })
    .superRefine((v, ctx) => {
      if (v.password === undefined && v.privateKey === undefined && !keepsStoredSecrets(v)) {
        ctx.addIssue({ code: 'custom', path: ['password'], message: 'a password or a privateKey is required' });
      }
    }, evenWithOtherErrors);

  const dropbox = z
    .strictObject({
      type: z.literal('dropbox'),
      authorizationCode: tokenText().optional(),
      refreshToken: tokenText().optional(),
      path: checkedString('a Dropbox path', absolutePathProblems).optional(),
    })
    .superRefine((v, ctx) => {
      if (v.authorizationCode !== undefined && v.refreshToken !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['refreshToken'], message: 'give either authorizationCode or refreshToken, not both' });
      } else if (v.authorizationCode === undefined && v.refreshToken === undefined && !keepsStoredSecrets(v)) {
        ctx.addIssue({
          code: 'custom',
          path: ['authorizationCode'],
          message: 'is required: the confirmation key Dropbox shows after you allow access (or a refreshToken)',
        });
      }
    }, evenWithOtherErrors);

  const usb = z.strictObject({
    type: z.literal('usb'),
    device: checkedString('a device name', portableNameProblems).optional(),
  });

  const emailDest = z.strictObject({
    type: z.literal('email'),
    to: email(),
  });

  return [local, smb, sftp, dropbox, usb, emailDest] as const;
}

const destinationUnionError = (iss: RawIssue) => {
  if (iss.code === 'invalid_union') {
    const value = (iss.input as { type?: unknown } | undefined)?.type;
    return value === undefined ? `is required: ${oneOfText(DESTINATION_TYPES)}` : `must be ${oneOfText(DESTINATION_TYPES)}`;
  }
  return isMissing(iss) ? 'is required' : 'must be an object';
};

const createKinds = destinationKinds();
const destinationId = { id: z.uuid({ error: mustBe('the id of an existing destination') }).optional() };

/** One destination as sent on create and on POST /backup-configurations/:id/destinations. */
export const destinationSchema = z.discriminatedUnion('type', [...createKinds], { error: destinationUnionError });

/** One destination in a PATCH list: may carry `id`, and then omitted secrets are kept. */
export const patchDestinationSchema = z.discriminatedUnion(
  'type',
  [
    createKinds[0].safeExtend(destinationId),
    createKinds[1].safeExtend(destinationId),
    createKinds[2].safeExtend(destinationId),
    createKinds[3].safeExtend(destinationId),
    createKinds[4].safeExtend(destinationId),
    createKinds[5].safeExtend(destinationId),
  ],
  { error: destinationUnionError },
);

export type DestinationInput = z.output<typeof destinationSchema>;
export type DestinationBody = z.input<typeof destinationSchema>;
export type PatchDestinationInput = z.output<typeof patchDestinationSchema>;
export type DestinationKind = DestinationInput['type'];
export type LocalDestinationInput = Extract<DestinationInput, { type: 'local' }>;
export type SmbDestinationInput = Extract<DestinationInput, { type: 'smb' }>;
export type SftpDestinationInput = Extract<DestinationInput, { type: 'sftp' }>;
export type DropboxDestinationInput = Extract<DestinationInput, { type: 'dropbox' }>;
export type UsbDestinationInput = Extract<DestinationInput, { type: 'usb' }>;
export type EmailDestinationInput = Extract<DestinationInput, { type: 'email' }>;

export function destinationListSchema<T extends z.ZodType>(item: T) {
  return z
    .array(item, { error: mustBe('a list of destinations') })
    .min(1, { error: 'must contain at least one destination' })
    .max(MAX_DESTINATIONS, { error: `must contain at most ${MAX_DESTINATIONS} destinations` });
}

/** The destination without its write-only fields (for responses and logs). */
export function withoutSecrets<T extends object>(destination: T): Omit<T, SecretField> {
  const copy = { ...destination } as Record<string, unknown>;
  for (const field of SECRET_FIELDS) delete copy[field];
  return copy as Omit<T, SecretField>;
}

// ---------------------------------------------------------------------------------------------
// Shared top-level fields and cross-field rules

export const commonFields = {
  name: configurationNameSchema,
  reportTo: email(),
  interval: oneOf(INTERVALS),
  startAt: startAtSchema,
  timezone: timezoneSchema,
  action: oneOf(ACTIONS),
  language: oneOf(LANGUAGES),
  notifyOnSuccess: bool(),
} as const;

/** PATCH refuses `action`: running is its own request. */
export const actionNotAllowed = z
  .never({ error: 'is only allowed when creating a configuration (use the run endpoint to start one)' })
  .optional();


/**
 * Cross-field rules shared by backup and archive configurations. Runs even when other fields
 * failed (`when`), so one response lists every problem; it only looks at valid fields, so no
 * field gets the same complaint twice.
 *
 * "startAt must parse in timezone" needs no rule of its own: a real calendar date (field check)
 * in a valid IANA zone (field check) always resolves, a DST-gap wall time included, so
 * @pbx/scheduling's parseStartAt succeeds for every accepted body (a property test holds us to that). Skipping
 * luxon here keeps validation ~3x cheaper.
 */
export function scheduleRules(mode: SchemaMode) {
  return [
    (value: unknown, ctx: z.core.$RefinementCtx<unknown>) => {
      const v = asRecord(value);
      const interval = isInterval(v.interval) ? v.interval : undefined;
      if (mode === 'create' && interval !== undefined && interval !== 'manual' && v.startAt === undefined) {
        ctx.addIssue({ code: 'custom', path: ['startAt'], message: `is required when interval is "${interval}" (only "manual" needs none)` });
      }
    },
    { when: () => true },
  ] as const;
}

function checkedDefaultTimezone(opts: ConfigurationSchemaOptions): string {
  if (!isValidTimezone(opts.defaultTimezone)) {
    throw new Error(`defaultTimezone "${opts.defaultTimezone}" is not a valid IANA time zone`);
  }
  return opts.defaultTimezone;
}

// ---------------------------------------------------------------------------------------------
// Backup configurations

const dataSchema = z
  .strictObject(
    {
      coreData: bool().default(false),
      cdrAndVoicemails: bool().default(false),
      announcements: bool().default(false),
    },
    { error: mustBe('an object like { "coreData": true }') },
  )
  .superRefine((v, ctx) => {
    if (!v.coreData && !v.cdrAndVoicemails && !v.announcements) {
      ctx.addIssue({ code: 'custom', message: 'must select at least one of coreData, cdrAndVoicemails, announcements' });
    }
  });

export function createBackupConfigurationSchema(opts: ConfigurationSchemaOptions) {
  const defaultTimezone = checkedDefaultTimezone(opts);
  const [rule, params] = scheduleRules('create');
  return z
    .strictObject(
      {
        name: commonFields.name,
        reportTo: commonFields.reportTo,
        interval: commonFields.interval,
        startAt: commonFields.startAt.optional(),
        timezone: commonFields.timezone.default(defaultTimezone),
        data: dataSchema,
        destinations: destinationListSchema(destinationSchema),
        keepLast: intBetween(1, KEEP_LAST_MAX).optional(),
        notifyOnSuccess: commonFields.notifyOnSuccess.default(false),
        language: commonFields.language.default('en'),
        action: commonFields.action.default('save'),
      },
      { error: mustBe('a JSON object') },
    )
    .superRefine(rule, params);
}

/**
 * PATCH: every field optional and no defaults (absent = unchanged). `destinations` replaces the
 * whole list; `keepLast: null` removes the limit. Options are accepted for symmetry with create.
 */
export function patchBackupConfigurationSchema(_opts?: ConfigurationSchemaOptions) {
  const [rule, params] = scheduleRules('patch');
  return z
    .strictObject(
      {
        name: commonFields.name.optional(),
        reportTo: commonFields.reportTo.optional(),
        interval: commonFields.interval.optional(),
        startAt: commonFields.startAt.optional(),
        timezone: commonFields.timezone.optional(),
        data: dataSchema.optional(),
        destinations: destinationListSchema(patchDestinationSchema).optional(),
        keepLast: intBetween(1, KEEP_LAST_MAX).nullable().optional(),
        notifyOnSuccess: commonFields.notifyOnSuccess.optional(),
        language: commonFields.language.optional(),
        action: actionNotAllowed,
      },
      { error: mustBe('a JSON object') },
    )
    .superRefine(rule, params);
}

export type CreateBackupConfigurationSchema = ReturnType<typeof createBackupConfigurationSchema>;
export type PatchBackupConfigurationSchema = ReturnType<typeof patchBackupConfigurationSchema>;
/** A validated create request (defaults applied). */
export type CreateBackupConfigurationInput = z.output<CreateBackupConfigurationSchema>;
/** What a client may send on create. */
export type CreateBackupConfigurationBody = z.input<CreateBackupConfigurationSchema>;
export type PatchBackupConfigurationInput = z.output<PatchBackupConfigurationSchema>;
export type PatchBackupConfigurationBody = z.input<PatchBackupConfigurationSchema>;
export type BackupDataSelection = z.output<typeof dataSchema>;

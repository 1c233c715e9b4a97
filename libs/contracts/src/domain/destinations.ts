import { z } from 'zod';
import { absolutePathProblems, portableNameProblems, relativePathProblems, sftpPathProblems, sharePathProblems } from '../canonical';
import { maxUploadBytesPerSecondSchema } from './retention';
import { bool, checkedString, email, hostSchema, intBetween, isObject, isSecretSchema, mustBe, oneOf, oneOfText, plainText, privateKeyText, secretText, tokenText } from './fields';

/**
 * The destination kinds: ONE discriminated union, the only definition of each kind's fields.
 * The api validates requests with it (and shows it in OpenAPI), the adapters' config types are
 * derived from it (libs/destinations), and a field marked `secret(…)` is sealed at rest and
 * never returned. A new kind is a schema here plus an entry in SECRETS_NEEDED; the compiler
 * then names the adapter registry, the adapters' config, the notifier's labels and HOST_FIELD.
 */

/** SMB authentication methods; the destinations lib maps them onto its drivers. */
export const SMB_SECURITY_METHODS = ['ntlmv2', 'ntlmssp', 'ntlmssp-encrypt', 'kerberos', 'ntlmv1-legacy'] as const;
export type SmbSecurityMethod = (typeof SMB_SECURITY_METHODS)[number];
/** Default `smbclient` (Samba, SMB3). `legacy-smb2` only for old SMB2-only/NTLMv1 devices. */
export const SMB_DRIVERS = ['smbclient', 'legacy-smb2'] as const;
export type SmbDriver = (typeof SMB_DRIVERS)[number];

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * Kinds whose adapter streams the archive itself take an upload limit (a token bucket, bytes per
 * second). SMB (smbclient reads the file on its own) and e-mail do not.
 */
const uploadLimit = { maxUploadBytesPerSecond: maxUploadBytesPerSecondSchema.optional() };

const localDestination = z.strictObject({
  type: z.literal('local'),
  /** Sub-directory below the service's local root; must stay inside it. */
  path: checkedString('a relative path', relativePathProblems).optional(),
  ...uploadLimit,
});

const smbDestination = z.strictObject({
  type: z.literal('smb'),
  server: hostSchema(),
  /** Share name, optionally followed by sub-directories: "backup" or "backup/pbx/site-a". */
  share: checkedString('a share name', sharePathProblems),
  /** "user", "user@domain" or "DOMAIN\\user". */
  username: plainText(1, 256),
  password: secretText(1024).optional(),
  security: oneOf(SMB_SECURITY_METHODS),
  port: intBetween(1, 65535).optional(),
  driver: oneOf(SMB_DRIVERS).default('smbclient'),
});

const sftpDestination = z.strictObject({
  type: z.literal('sftp'),
  host: hostSchema(),
  port: intBetween(1, 65535).default(22),
  username: plainText(1, 256),
  password: secretText(1024).optional(),
  /** OpenSSH/PEM private key text. */
  privateKey: privateKeyText().optional(),
  /** Absolute server path or "." (the login directory). */
  path: checkedString('a path', sftpPathProblems).default('.'),
  /** "SHA256:" + unpadded base64, exactly as `ssh-keygen -lf` prints it. Required to deliver. */
  hostKeyFingerprint: z
    .string({ error: mustBe('a host key fingerprint') })
    .regex(FINGERPRINT, { error: 'must look like SHA256: followed by 43 base64 characters (as printed by ssh-keygen -l)' })
    .optional(),
  /** Without a fingerprint: pin the key the server presents when saving (a request, never stored). */
  trustOnFirstUse: bool().optional(),
  ...uploadLimit,
});

const dropboxDestination = z.strictObject({
  type: z.literal('dropbox'),
  /** One-time code; exchanged for a refresh token before anything is stored. */
  authorizationCode: tokenText().optional(),
  refreshToken: tokenText().optional(),
  /** Folder inside the app folder, default "/" (the app root). */
  path: checkedString('a Dropbox path', absolutePathProblems).optional(),
  ...uploadLimit,
});

const usbDestination = z.strictObject({
  type: z.literal('usb'),
  /** Name of the mounted volume below the service's USB root (e.g. "stick"). */
  device: checkedString('a device name', portableNameProblems).optional(),
  ...uploadLimit,
});

const emailDestination = z.strictObject({
  type: z.literal('email'),
  to: email(),
});

/**
 * Storage classes an `s3` destination may ask for: those read back at once (verification and
 * restores read copies). GLACIER and DEEP_ARCHIVE need a restore request first, so they are not offered.
 */
export const S3_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'REDUCED_REDUNDANCY'] as const;
export type S3StorageClass = (typeof S3_STORAGE_CLASSES)[number];

/** An S3 endpoint: an http(s) origin, e.g. https://s3.eu-central-1.amazonaws.com or http://minio:9000. */
function endpointProblems(v: string): string | undefined {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'must be an http(s) URL like https://s3.eu-central-1.amazonaws.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must start with https:// or http://';
  if (url.username || url.password) return 'must not contain credentials (use accessKeyId and secretAccessKey)';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return 'must be the server only, without a path (the bucket is its own field)';
  if (v.length > 1024) return 'must be at most 1024 characters';
  return undefined;
}

/** AWS's bucket naming rules (3–63 of a-z 0-9 . -, starting and ending with a letter or digit). */
function bucketProblems(v: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v)) return 'must be 3 to 63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit';
  if (v.includes('..')) return 'must not contain two dots in a row';
  return undefined;
}

const s3Destination = z.strictObject({
  type: z.literal('s3'),
  endpoint: checkedString('an http(s) URL', endpointProblems),
  region: checkedString('a region', (v) => (/^[a-z0-9-]{1,64}$/.test(v) ? undefined : 'must be a region name like eu-central-1 (a-z, 0-9, -)')),
  bucket: checkedString('a bucket name', bucketProblems),
  /** Key prefix inside the bucket ("site-a/pbx"); objects go to `<prefix>/starface-backup/<name>/<file>`. */
  prefix: checkedString('a relative path', relativePathProblems).optional(),
  accessKeyId: plainText(1, 256),
  secretAccessKey: secretText(1024).optional(),
  /** Path-style URLs (`endpoint/bucket/key`), as MinIO and most self-hosted servers want. Default false (virtual-hosted). */
  forcePathStyle: bool().optional(),
  storageClass: oneOf(S3_STORAGE_CLASSES).optional(),
  /** Write every object under Object Lock COMPLIANCE for this many days; retention never deletes one still locked. */
  objectLockDays: intBetween(1, 36500).optional(),
  ...uploadLimit,
});

/** The kinds' shapes, in the order error messages list them. */
const SHAPES = [localDestination, smbDestination, sftpDestination, dropboxDestination, usbDestination, emailDestination, s3Destination] as const;

type Shape = (typeof SHAPES)[number];
export type DestinationKind = Shape['shape']['type']['value'];
/** Every destination kind, in the order of the union. */
export const DESTINATION_KINDS = SHAPES.map((s) => s.shape.type.value) as readonly DestinationKind[] as readonly [DestinationKind, ...DestinationKind[]];
/** The same list under the name the messages use (a delivery's `destinationType`). */
export const DESTINATION_TYPES = DESTINATION_KINDS;
export type DestinationType = DestinationKind;

export function isDestinationKind(value: unknown): value is DestinationKind {
  return typeof value === 'string' && (DESTINATION_KINDS as readonly string[]).includes(value);
}

const secretFieldsOf = (schema: Shape) =>
  Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, field]) => isSecretSchema(field))
    .map(([name]) => name);

/** Secret field names of each kind, read from the `secret(…)` marks of its schema. */
export const SECRET_FIELDS_BY_KIND = {} as Record<DestinationKind, readonly string[]>;
for (const schema of SHAPES) SECRET_FIELDS_BY_KIND[schema.shape.type.value] = secretFieldsOf(schema);
/** Every secret field of any kind. */
export const SECRET_FIELDS: readonly string[] = [...new Set(Object.values(SECRET_FIELDS_BY_KIND).flat())];

export function isSecretField(kind: DestinationKind, field: string): boolean {
  return SECRET_FIELDS_BY_KIND[kind]?.includes(field) ?? false;
}

export interface MissingSecret {
  field: string;
  message: string;
}

/**
 * Which secret a kind cannot work without (null: none). Judged on a request (what it carries)
 * and on a stored destination (what is sealed), so create and PATCH refuse alike.
 */
export const SECRETS_NEEDED: Record<DestinationKind, ((has: (field: string) => boolean) => MissingSecret | undefined) | null> = {
  local: null,
  usb: null,
  email: null,
  smb: (has) => (has('password') ? undefined : { field: 'password', message: 'is required' }),
  sftp: (has) => (has('password') || has('privateKey') ? undefined : { field: 'password', message: 'a password or a privateKey is required' }),
  dropbox: (has) =>
    has('authorizationCode') || has('refreshToken')
      ? undefined
      : { field: 'authorizationCode', message: 'is required: the confirmation key Dropbox shows after you allow access (or a refreshToken)' },
  s3: (has) => (has('secretAccessKey') ? undefined : { field: 'secretAccessKey', message: 'is required' }),
};

/** The secret a destination lacks, given which fields it has (values are not looked at beyond presence). */
export function missingSecret(kind: DestinationKind, present: Record<string, unknown>): MissingSecret | undefined {
  return SECRETS_NEEDED[kind]?.((field) => present[field] !== undefined && present[field] !== null && present[field] !== '');
}

/**
 * The field naming the server a kind connects to (null: none), judged by DESTINATION_HOSTS_ALLOWED;
 * a URL field (s3's endpoint) is judged by its host.
 */
export const HOST_FIELD: Record<DestinationKind, string | null> = {
  local: null,
  usb: null,
  dropbox: null,
  email: null,
  smb: 'server',
  sftp: 'host',
  /** A URL: its host name is judged (and the address the adapter dials). */
  s3: 'endpoint',
};

/**
 * The server a destination (a request's entry, any kind) connects to, for the host allowlist:
 * its HOST_FIELD's value, a host name or address, or a URL whose host is taken (an IPv6 one
 * without brackets). Undefined when the kind has none or the field is not filled. The api judges
 * what this answers, so a kind whose host field is either form needs no edit there.
 */
export function destinationHost(d: Record<string, unknown>): { field: string; host: string } | undefined {
  const field = isDestinationKind(d.type) ? HOST_FIELD[d.type] : null;
  const value = field === null ? undefined : d[field];
  if (field === null || typeof value !== 'string') return undefined;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { field, host: value };
  try {
    const host = new URL(value).hostname.replace(/^\[(.*)\]$/, '$1');
    return host ? { field, host } : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Request rules across fields. They run even when another field failed (`when`), so every
// problem is listed at once; they only compare values, whatever their type.

const evenWithOtherErrors = { when: (payload: z.core.ParsePayload) => isObject(payload.value) };
/** A PATCH entry that names a stored destination: omitted secrets mean "keep". */
const keepsStoredSecrets = (v: object) => 'id' in v && typeof v.id === 'string';

function withRules<S extends Shape>(schema: S) {
  const kind = schema.shape.type.value;
  return schema
    .superRefine((v, ctx) => {
      if (keepsStoredSecrets(v)) return;
      const missing = missingSecret(kind, v as Record<string, unknown>);
      if (missing) ctx.addIssue({ code: 'custom', path: [missing.field], message: missing.message });
    }, evenWithOtherErrors)
    .superRefine((v, ctx) => kindRules(v as z.output<Shape>, ctx), evenWithOtherErrors) as S;
}

function kindRules(v: z.output<Shape>, ctx: z.core.$RefinementCtx<unknown>): void {
  if (v.type === 'smb' && v.security === 'ntlmv1-legacy' && v.driver !== 'legacy-smb2' && (SMB_DRIVERS as readonly unknown[]).includes(v.driver)) {
    ctx.addIssue({ code: 'custom', path: ['driver'], message: 'must be "legacy-smb2" when security is "ntlmv1-legacy"' });
  }
  if (v.type === 'dropbox' && v.authorizationCode !== undefined && v.refreshToken !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['refreshToken'], message: 'give either authorizationCode or refreshToken, not both' });
  }
}

const destinationUnionError = (iss: z.core.$ZodRawIssue) => {
  if (iss.code === 'invalid_union') {
    const value = (iss.input as { type?: unknown } | undefined)?.type;
    return value === undefined ? `is required: ${oneOfText(DESTINATION_KINDS)}` : `must be ${oneOfText(DESTINATION_KINDS)}`;
  }
  return iss.input === undefined ? 'is required' : 'must be an object';
};

const KINDS = SHAPES.map(withRules) as unknown as typeof SHAPES;

/** One destination as sent on create (and on POST …/destinations or a destination test). */
export const destinationSchema = z.discriminatedUnion('type', [...KINDS], { error: destinationUnionError });

const destinationId = { id: z.uuid({ error: mustBe('the id of an existing destination') }).optional() };

const withId = <S extends Shape>(schema: S) => schema.safeExtend(destinationId);
type WithIds<T extends readonly Shape[]> = { [I in keyof T]: ReturnType<typeof withId<T[I]>> };

/** One destination in a PATCH list: may carry `id`, and then omitted secrets are kept. */
export const patchDestinationSchema = z.discriminatedUnion('type', KINDS.map(withId) as unknown as WithIds<typeof SHAPES>, { error: destinationUnionError });

/** A validated destination (defaults applied). */
export type DestinationInput = z.output<typeof destinationSchema>;
/** What a client may send. */
export type DestinationBody = z.input<typeof destinationSchema>;
export type PatchDestinationInput = z.output<typeof patchDestinationSchema>;
/** The validated fields of one kind. */
export type DestinationOf<K extends DestinationKind> = Extract<DestinationInput, { type: K }>;
/** Fields a request may carry that are never stored. */
export type RequestOnlyField = 'trustOnFirstUse';

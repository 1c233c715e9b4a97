import { z } from 'zod';

/**
 * Field building blocks of the request vocabulary. Every message is written for an admin
 * reading it next to the field name, e.g. `destinations[0].host: must not contain a port (use
 * the port field)`; no message ever repeats the submitted value, so secrets never end up in an
 * error response or a log.
 */

type RawIssue = z.core.$ZodRawIssue;

const isMissing = (iss: RawIssue) => iss.input === undefined;
/** Error map for a type: "is required" when absent, otherwise "must be <what>". */
export const mustBe = (what: string) => (iss: RawIssue) => (isMissing(iss) ? 'is required' : `must be ${what}`);
export const oneOfText = (values: readonly string[]) => `one of ${values.join(', ')}`;

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

type Check = (value: string) => string | string[] | undefined;

/** A string schema with custom problem checks; every problem found becomes its own issue. */
export function checkedString(what: string, check: Check) {
  return z.string({ error: mustBe(what) }).superRefine((value, ctx) => {
    const found = check(value);
    for (const message of found === undefined ? [] : Array.isArray(found) ? found : [found]) {
      ctx.addIssue({ code: 'custom', message });
    }
  });
}

export function plainText(min: number, max: number) {
  return checkedString('a string', (v) => {
    const problems: string[] = [];
    if (v.length < min) problems.push(min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
    if (v.length > max) problems.push(`must be at most ${max} characters`);
    if (CONTROL_CHARS.test(v)) problems.push('must not contain control characters');
    return problems;
  });
}

export const bool = () => z.boolean({ error: mustBe('true or false') });
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: mustBe(oneOfText(values)) });
export const intBetween = (min: number, max: number) =>
  z
    .number({ error: mustBe(`a whole number from ${min} to ${max}`) })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });
export const email = () =>
  z.email({ error: mustBe('an e-mail address like admin@example.com') }).max(254, { error: 'must be at most 254 characters' });

// ---------------------------------------------------------------------------------------------
// Hosts

const HOST_LABEL = '[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOSTNAME = new RegExp(`^${HOST_LABEL}(\\.${HOST_LABEL})*$`);
const ipv4 = z.ipv4();
const ipv6 = z.ipv6();
// An IPv6 address may name its interface ("fe80::1%eth0"), as node:net's isIP accepts.
const ZONE_ID = /%[0-9a-zA-Z.:-]+$/;

export function isIpAddress(v: string): boolean {
  return ipv4.safeParse(v).success || ipv6.safeParse(v.replace(ZONE_ID, '')).success;
}

export function hostProblems(v: string): string | undefined {
  if (v.length === 0) return 'must not be empty';
  const protocol = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v);
  if (protocol) return `must be a host name or IP address without a protocol (remove "${protocol[1].toLowerCase()}://")`;
  if (/[/\\]/.test(v)) return 'must be a host name or IP address only, without slashes or a path';
  if (isIpAddress(v)) return undefined;
  if (/^\[.*\]$/.test(v)) return 'must be an IPv6 address without brackets';
  if (v.includes(':')) return 'must not contain a port (use the port field)';
  if (/^[\d.]+$/.test(v)) return 'is not a valid IP address';
  if (v.length > 253 || !HOSTNAME.test(v)) return 'must be a host name or IP address';
  return undefined;
}

export const hostSchema = () => checkedString('a host name or IP address', hostProblems);

// ---------------------------------------------------------------------------------------------
// Secrets: THE mark of a secret field is `writeOnly` in its metadata (also what OpenAPI shows);
// the list of secret fields of each destination kind is read back from it (destinations.ts).

const WRITE_ONLY = {
  writeOnly: true,
  description: 'Write-only: stored encrypted, never returned. On PATCH, omit it on a destination with an id to keep the stored value.',
} as const;

/** Marks a field as secret: sealed at rest, never returned, never logged. */
export const secret = <T extends z.ZodType>(schema: T): T => schema.meta(WRITE_ONLY) as T;

/** Whether a field (optional/default wrappers included) carries the secret mark. */
export function isSecretSchema(schema: z.ZodType): boolean {
  let current: z.ZodType | undefined = schema;
  for (let depth = 0; current && depth < 8; depth++) {
    if (current.meta()?.writeOnly === true) return true;
    const def = current._zod.def as { innerType?: z.ZodType };
    current = def.innerType;
  }
  return false;
}

export const secretText = (max: number) =>
  secret(
    checkedString('a string', (v) => {
      if (v.length === 0) return 'must not be empty';
      if (v.length > max) return `must be at most ${max} characters`;
      return undefined;
    }),
  );
export const tokenText = () =>
  secret(
    checkedString('a string', (v) => {
      if (v.length === 0) return 'must not be empty';
      if (v.length > 4096) return 'must be at most 4096 characters';
      if (/\s/.test(v)) return 'must not contain spaces or line breaks (copy it again without them)';
      return undefined;
    }),
  );

const PRIVATE_KEY = /^\s*-----BEGIN ((?:OPENSSH|RSA|DSA|EC|ENCRYPTED) )?PRIVATE KEY-----\r?\n[\s\S]+?\r?\n-----END \1PRIVATE KEY-----\s*$/;

export const privateKeyText = () =>
  secret(
    checkedString('a string', (v) => {
      if (v.length > 16384) return 'must be at most 16384 characters';
      if (!PRIVATE_KEY.test(v)) return 'must be an OpenSSH or PEM private key (-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----)';
      return undefined;
    }),
  );

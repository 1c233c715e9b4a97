import { isSecretField, SECRET_FIELDS, type DestinationType } from '@pbx/contracts';
import { destinationConfigFromStored, type DestinationConfig } from '@pbx/destinations';
import type { DestinationEntity } from '@pbx/persistence';
import type { SecretBox } from '@pbx/secrets';

/** The marker responses show instead of a stored secret; sending it back on PATCH keeps the value. */
export const SECRET_MARKER = '***';

/** The flag responses show next to a stored secret: `password` → `hasPassword`. */
export function secretFlag(field: string): string {
  return `has${field[0].toUpperCase()}${field.slice(1)}`;
}

/** A validated destination (create or patch shape) as a plain record. */
export type DestinationRecord = { type: DestinationType; id?: string } & Record<string, unknown>;

export interface SplitDestination {
  type: DestinationType;
  settings: Record<string, unknown>;
  /** field -> plaintext; never logged, sealed before it is stored. */
  secrets: Record<string, string>;
}

/** Separates the write-only fields (the kind's `secret(…)` marks) from the settings stored in clear. */
export function splitDestination(input: DestinationRecord): SplitDestination {
  const settings: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === 'type' || key === 'id' || value === undefined) continue;
    if (isSecretField(input.type, key)) {
      if (typeof value === 'string') secrets[key] = value;
    } else settings[key] = value;
  }
  return { type: input.type, settings, secrets };
}

export function sealSecrets(box: SecretBox, secrets: Record<string, string>): Record<string, string> {
  const sealed: Record<string, string> = {};
  for (const [key, value] of Object.entries(secrets)) if (value !== undefined) sealed[key] = box.seal(value);
  return sealed;
}

/** The destination as the adapters want it: settings plus opened secrets. Never log the result. */
export function toDestinationConfig(destination: Pick<DestinationEntity, 'type' | 'settings' | 'secrets'>, box: SecretBox): DestinationConfig {
  return destinationConfigFromStored(destination.type, destination.settings, destination.secrets ?? {}, (sealed) => box.open(sealed));
}

/**
 * PATCH bodies may echo a destination exactly as a response showed it: for one that keeps its
 * id, the "***" marker and the `hasPassword: true` flag mean "unchanged", so both are dropped
 * before validation (the marker is not a password, the flag is not a field).
 */
export function dropSecretMarkers(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  body = dropPassphraseMarkers(body);
  body = dropWebhookMarkers(body as object);
  const destinations = (body as { destinations?: unknown }).destinations;
  if (!Array.isArray(destinations)) return body;
  return {
    ...(body as object),
    destinations: destinations.map((d: unknown) => {
      if (typeof d !== 'object' || d === null || Array.isArray(d) || typeof (d as { id?: unknown }).id !== 'string') return d;
      const copy = { ...(d as Record<string, unknown>) };
      for (const field of SECRET_FIELDS) {
        if (copy[field] === SECRET_MARKER) delete copy[field];
        if (copy[secretFlag(field)] === true) delete copy[secretFlag(field)];
      }
      return copy;
    }),
  };
}

/** The same for `encryption`: `hasPassphrase: true` (and a "***" passphrase) echoed back keep the stored passphrase. */
function dropPassphraseMarkers(body: object): object {
  const encryption = (body as { encryption?: unknown }).encryption;
  if (typeof encryption !== 'object' || encryption === null || Array.isArray(encryption)) return body;
  const copy = { ...(encryption as Record<string, unknown>) };
  if (copy.hasPassphrase === true) delete copy.hasPassphrase;
  if (copy.passphrase === SECRET_MARKER) delete copy.passphrase;
  return { ...body, encryption: copy };
}

/** The same for `webhooks`: an entry with an id echoed with `hasSecret` (and a "***" secret) keeps its stored secret. */
function dropWebhookMarkers(body: object): object {
  const webhooks = (body as { webhooks?: unknown }).webhooks;
  if (!Array.isArray(webhooks)) return body;
  return {
    ...body,
    webhooks: webhooks.map((w: unknown) => {
      if (typeof w !== 'object' || w === null || Array.isArray(w) || typeof (w as { id?: unknown }).id !== 'string') return w;
      const copy = { ...(w as Record<string, unknown>) };
      if (typeof copy.hasSecret === 'boolean') delete copy.hasSecret;
      if (copy.secret === SECRET_MARKER) delete copy.secret;
      return copy;
    }),
  };
}

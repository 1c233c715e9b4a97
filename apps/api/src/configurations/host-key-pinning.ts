import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { CONNECT_FAILED } from '@pbx/destinations';
import type { DestinationRecord } from './destination-secrets';

/** A host key pinned on first use while a configuration was saved. */
export interface HostKeyPinned {
  configurationId: string;
  destinationId: string;
  host: string;
  port: number;
  fingerprint: string;
}

/** Told after the configuration is saved, once per pinned key (the audit trail records it). */
export interface HostKeyPinListener {
  hostKeyPinned(e: HostKeyPinned): Promise<void>;
}

export const NO_PIN_LISTENER: HostKeyPinListener = { hostKeyPinned: async () => undefined };

/**
 * The SSH host key an SFTP server presents (key exchange only, no credentials sent), as
 * `SHA256:…`; undefined when the server cannot be reached.
 */
export type HostKeyProbe = (destination: DestinationRecord) => Promise<string | undefined>;

/** Destinations ready to store, and which of them (by index) had their key pinned just now. */
export interface ConfirmedHostKeys {
  destinations: DestinationRecord[];
  pinned: { index: number; host: string; port: number; fingerprint: string }[];
}

/**
 * An SFTP destination without a pinned host key can never deliver (the adapter refuses
 * unverified keys), so it is not saved that way: either the client sends the fingerprint, or
 * it asks with `trustOnFirstUse: true` to pin the key the server presents now. Otherwise the
 * save is refused with the presented fingerprint, for the client to confirm and send back.
 * `trustOnFirstUse` is a request, not a setting: it is never stored.
 */
export async function confirmHostKeys(destinations: DestinationRecord[], probe: HostKeyProbe, at: (i: number) => string): Promise<ConfirmedHostKeys> {
  const pinned: ConfirmedHostKeys['pinned'] = [];
  const confirmed = await Promise.all(
    destinations.map(async (d, index) => {
      if (d.type !== 'sftp') return d;
      const { trustOnFirstUse, ...rest } = d;
      if (typeof rest.hostKeyFingerprint === 'string') return rest;
      const fingerprint = await probe(rest);
      if (fingerprint === undefined) throw unreachable(fieldAt(at(index), 'host'));
      const host = String(rest.host);
      const port = typeof rest.port === 'number' ? rest.port : 22;
      if (trustOnFirstUse !== true) throw hostKeyUnconfirmed(fieldAt(at(index), 'hostKeyFingerprint'), fingerprint);
      pinned.push({ index, host, port, fingerprint });
      return { ...rest, hostKeyFingerprint: fingerprint };
    }),
  );
  return { destinations: confirmed, pinned };
}

/** Tells the listener about each pin, now that the destinations have ids. */
export async function reportPins(listener: HostKeyPinListener, configurationId: string, destinationIds: string[], pinned: ConfirmedHostKeys['pinned']): Promise<void> {
  for (const p of pinned) {
    await listener.hostKeyPinned({ configurationId, destinationId: destinationIds[p.index], host: p.host, port: p.port, fingerprint: p.fingerprint });
  }
}

export function fieldAt(prefix: string, field: string): string {
  return prefix ? `${prefix}.${field}` : field;
}

function hostKeyUnconfirmed(field: string, fingerprint: string): DomainError {
  return new DomainError(
    ERROR_CODES.hostKeyUnconfirmed,
    `the SFTP server presented the host key ${fingerprint}; if that is the server's key, send it as hostKeyFingerprint (or send trustOnFirstUse: true); nothing was saved`,
    [{ field, message: 'is required: confirm the host key the server presented (hostKeyFingerprint in this problem)' }],
    { hostKeyFingerprint: fingerprint },
  );
}

function unreachable(field: string): DomainError {
  return new DomainError(ERROR_CODES.destinationUnreachable, `the SFTP server's host key could not be read: ${CONNECT_FAILED}; nothing was saved`, [
    { field, message: 'could not be connected to' },
  ]);
}

import type { DestinationBody, DestinationKind, RequestOnlyField, SmbSecurityMethod } from '@pbx/contracts';

/**
 * Destination configurations as the adapters receive them: the contracts' destination union
 * (libs/contracts/src/domain/destinations.ts) as a request may send it, without the request-only
 * fields, plus what an adapter knows beyond the request. Secret fields are plaintext here: the
 * caller opens them just before calling an adapter and never logs them.
 */

export { SMB_DRIVERS, SMB_SECURITY_METHODS as SMB_SECURITY_MODES, type SmbDriver } from '@pbx/contracts';
export type SmbSecurity = SmbSecurityMethod;

/** Per kind, what an adapter's config has beyond (or instead of) the request's fields. */
interface AdapterFields {
  local: object;
  usb: object;
  email: object;
  dropbox: object;
  /** A stored SMB destination always has its password (SECRETS_NEEDED refuses one without). */
  smb: { password: string };
  /** Absolute server path or "." (the login directory): stored with its default applied. */
  sftp: { path: string; passphrase?: string };
  /** A stored S3 destination always has its secret key (SECRETS_NEEDED refuses one without). */
  s3: { secretAccessKey: string };
}

type AdapterConfig<K extends DestinationKind> = Omit<Extract<DestinationBody, { type: K }>, RequestOnlyField | keyof AdapterFields[K]> & AdapterFields[K];

export type DestinationConfig = { [K in DestinationKind]: AdapterConfig<K> }[DestinationKind];
export type ConfigOf<K extends DestinationKind> = Extract<DestinationConfig, { type: K }>;

export type LocalDestinationConfig = ConfigOf<'local'>;
export type UsbDestinationConfig = ConfigOf<'usb'>;
export type SmbDestinationConfig = ConfigOf<'smb'>;
export type SftpDestinationConfig = ConfigOf<'sftp'>;
export type DropboxDestinationConfig = ConfigOf<'dropbox'>;
export type EmailDestinationConfig = ConfigOf<'email'>;
export type S3DestinationConfig = ConfigOf<'s3'>;

/**
 * Destination configurations as the api's validation produces them. Secret fields are
 * plaintext here: the caller decrypts them just before calling an adapter and never logs them.
 */

export interface LocalDestinationConfig {
  type: 'local';
  /** Sub-directory below the registry's `localRoot`; must stay inside it. */
  path?: string;
}

export interface UsbDestinationConfig {
  type: 'usb';
  /** Name of the mounted volume below the registry's `usbRoot` (e.g. "stick"). */
  device?: string;
}

/** How the smbclient driver authenticates / which dialects it accepts. See docs/destinations.md. */
export const SMB_SECURITY_MODES = ['ntlmv2', 'ntlmssp', 'ntlmssp-encrypt', 'kerberos', 'ntlmv1-legacy'] as const;
export type SmbSecurity = (typeof SMB_SECURITY_MODES)[number];

export const SMB_DRIVERS = ['smbclient', 'legacy-smb2'] as const;
export type SmbDriver = (typeof SMB_DRIVERS)[number];

export interface SmbDestinationConfig {
  type: 'smb';
  server: string;
  /** Share name, optionally followed by sub-directories: "backup" or "backup/pbx/site-a". */
  share: string;
  /** "user", "user@domain" or "DOMAIN\\user". */
  username: string;
  password: string;
  security: SmbSecurity;
  port?: number;
  /** Default `smbclient` (Samba, SMB3). `legacy-smb2` only for old SMB2-only/NTLMv1 devices. */
  driver?: SmbDriver;
}

export interface SftpDestinationConfig {
  type: 'sftp';
  host: string;
  port?: number;
  username: string;
  password?: string;
  /** OpenSSH/PEM private key text. */
  privateKey?: string;
  passphrase?: string;
  /** Absolute server path or "." (the login directory). */
  path: string;
  /** "SHA256:" + unpadded base64, exactly as `ssh-keygen -lf` prints it. Required to deliver. */
  hostKeyFingerprint?: string;
}

export interface DropboxDestinationConfig {
  type: 'dropbox';
  refreshToken?: string;
  /** One-time code; exchanged for a refresh token if no refresh token is stored yet. */
  authorizationCode?: string;
  /** Folder inside the app folder, default "/" (the app root). */
  path?: string;
}

export interface EmailDestinationConfig {
  type: 'email';
  /** One address or a comma-separated list. */
  to: string;
}

export type DestinationConfig =
  | LocalDestinationConfig
  | UsbDestinationConfig
  | SmbDestinationConfig
  | SftpDestinationConfig
  | DropboxDestinationConfig
  | EmailDestinationConfig;

export type ConfigOf<T extends DestinationConfig['type']> = Extract<DestinationConfig, { type: T }>;

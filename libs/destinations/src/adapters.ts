// The heavy entry: the seven adapters and their client libraries. Loaded by the dispatcher, and
// by the api only when it first tests a destination or exchanges a Dropbox code.
export { createDestinationRegistry } from './destination-registry';
export { LocalAdapter } from './local.adapter';
export { UsbAdapter, type UsbAdapterOptions } from './usb.adapter';
export { isMountPoint } from './usb-volumes';
export { SftpAdapter, sshFingerprint, type SftpAdapterOptions } from './sftp.adapter';
export { SmbAdapter, type SmbAdapterOptions } from './smb.adapter';
export { SMB_SECURITY_ARGS } from './smbclient.driver';
export { DropboxAdapter, dropboxAuthorizeUrl, exchangeDropboxCode, dropboxFetch, localContentHash, type DropboxAdapterOptions, type DropboxAppOptions } from './dropbox.adapter';
export { S3Adapter, RETAIN_UNTIL_META, type S3AdapterOptions } from './s3.adapter';
export { EmailAdapter, estimateMailBytes, DEFAULT_MAIL_MAX_BYTES, type EmailAdapterOptions } from './email.adapter';

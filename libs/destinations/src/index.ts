// The light entry: configuration types, path rules, errors, host allowlist, file names. It
// loads no adapter and no client library (ssh2, dropbox, nodemailer, SMB), so apps that do
// not deliver stay small; the adapters and the registry are '@pbx/destinations/adapters'.
export * from './destination-config';
export { DESTINATION_REGISTRY } from './destination-registry.token';
export * from './delivery';
export * from './paths';
export type { DestinationRegistry, DestinationRegistryOptions } from './destination-registry';
export { sha256File } from './file-hash';
export { HostAllowlist, HOST_NOT_ALLOWED, type HostLookup } from './host-allowlist';
export { destinationConfigFromStored } from './stored-destination';
export { artifactFileName, ARCHIVE_EXTENSION, ENCRYPTED_ARCHIVE_EXTENSION, isEncryptedArchiveName, stagedArtifactName, stagedArtifactOf, uploadedArchiveOf, uploadedArchiveKeys, fetchedArchiveOf } from './artifact-name';
export { listUsbVolumes, type UsbVolume, type UsbVolumeListOptions } from './usb-volumes';

/** The client libraries of the destination adapters (SFTP, Dropbox, e-mail, SMB). */
export const DESTINATION_CLIENT_PACKAGES = ['ssh2', 'ssh2-sftp-client', 'dropbox', 'node-fetch', 'nodemailer', '@marsaud/smb2'] as const;

/**
 * Which of `packages` get required while `load` runs, in a fresh module registry: each is
 * mocked by a factory that notes its name and hands out the real module.
 */
export function packagesLoadedBy(load: () => void, packages: readonly string[] = DESTINATION_CLIENT_PACKAGES): string[] {
  const loaded = new Set<string>();
  jest.isolateModules(() => {
    for (const name of packages) {
      jest.doMock(name, () => {
        loaded.add(name);
        return jest.requireActual(name);
      });
    }
    load();
  });
  for (const name of packages) jest.dontMock(name);
  return [...loaded].sort();
}

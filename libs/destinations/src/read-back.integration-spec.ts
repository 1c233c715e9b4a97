import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestArchive, peers, peerSftpDestination, peerSmbDestination, tempDir, uniqueName } from '@pbx/testing';
import type { DestinationConfig } from './destination-config';
import { createDestinationRegistry, type DestinationRegistry } from './destination-registry';
import { sha256File } from './file-hash';

/**
 * Reading stored copies back (verification) and listing them with size and time, against the
 * real OpenSSH and Samba peers and a local folder: each kind finds the copy it wrote intact, a
 * byte changed at the destination as another sha256, and a removed copy missing.
 */
describe('read-back and detailed listing (local, SFTP, SMB; real peers)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let src: Awaited<ReturnType<typeof makeTestArchive>>;
  let registry: DestinationRegistry;

  beforeAll(async () => {
    tmp = await tempDir('pbx-readback-');
    src = await makeTestArchive(tmp.path, 2 * 1024 * 1024 + 3, 'Nightly_20261201-013000.sar');
    await mkdir(join(tmp.path, 'local'));
    registry = createDestinationRegistry({
      localRoot: join(tmp.path, 'local'), usbRoot: join(tmp.path, 'usb'), smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'x@example.test',
      dropbox: { appKey: 'k', appSecret: 's' }, tempDir: tmp.path,
    });
  });
  afterAll(() => tmp.remove());

  const sub = uniqueName('rb');
  const kinds: Array<[string, () => DestinationConfig, (name: string) => string]> = [
    ['local', () => ({ type: 'local', path: sub }), (name) => join(tmp.path, 'local', sub, 'starface-backup', name)],
    ['sftp', () => peerSftpDestination(sub) as DestinationConfig, (name) => join(peers.sftp.homeDir, sub, 'starface-backup', name)],
    ['smb (smbclient)', () => peerSmbDestination(sub) as DestinationConfig, (name) => join(peers.smb.shareDir, sub, 'starface-backup', name)],
  ];

  it.each(kinds)('%s: intact → its sha256, one byte flipped → another, removed → missing; listDetailed gives size and time', async (_kind, configOf, folderOf) => {
    const config = configOf();
    const name = uniqueName('Nightly');
    const started = Date.now() - 2000;
    await registry.deliver(config, { ...src, configurationName: name });

    const listed = await registry.listDetailed(config, name);
    expect(listed).toEqual([{ name: src.fileName, size: src.size, modifiedAt: expect.any(Date) }]);
    expect(listed[0]!.modifiedAt!.getTime()).toBeGreaterThanOrEqual(started - 60_000);
    expect(await registry.hash(config, name, src.fileName)).toEqual({ state: 'stored', sha256: src.sha256, size: src.size });
    // A restore from the destination: the same read also leaves a local copy.
    const copy = join(tmp.path, `${uniqueName('copy')}.sar`);
    expect(await registry.hash(config, name, src.fileName, { copyTo: copy })).toEqual({ state: 'stored', sha256: src.sha256, size: src.size });
    expect(await sha256File(copy)).toBe(src.sha256);

    const file = join(folderOf(name), src.fileName);
    const fh = await open(file, 'r+');
    await fh.write(Buffer.from([0x5a]), 0, 1, 12345);
    await fh.close();
    const changed = await registry.hash(config, name, src.fileName);
    expect(changed).toMatchObject({ state: 'stored', size: src.size });
    expect((changed as { sha256: string }).sha256).not.toBe(src.sha256);

    await rm(file);
    expect(await registry.hash(config, name, src.fileName)).toEqual({ state: 'missing' });
    expect(await registry.listDetailed(config, name)).toEqual([]);
  });

  it('cannot read back e-mail or the legacy SMB driver', async () => {
    expect(await registry.hash({ type: 'email', to: 'a@example.test' } as DestinationConfig, 'x', src.fileName)).toEqual({ state: 'notVerifiable' });
    expect(await registry.hash({ ...peerSmbDestination(sub, 'legacy-smb2') } as DestinationConfig, 'x', src.fileName)).toEqual({ state: 'notVerifiable' });
  });
});

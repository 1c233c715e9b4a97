import { chmod, mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestArchive, peers, peerSftpDestination, peerSmbDestination, startDropboxFake, tempDir, uniqueName, type DropboxFake } from '@pbx/testing';
import type { DestinationConfig } from './destination-config';
import { DeliveryError } from './delivery';
import { createDestinationRegistry, type DestinationRegistry } from './destination-registry';
import { sha256File } from './file-hash';

/**
 * Reading stored copies back (verification, and a restore's fetch with `copyTo`) and listing them
 * with size and time, against the real OpenSSH and Samba peers, a local folder and the Dropbox
 * fake (its /2/files/download follows Dropbox's wire rules): each kind finds the copy it wrote intact, a
 * byte changed at the destination as another sha256, and a removed copy missing.
 */
describe('read-back and detailed listing (local, SFTP, SMB, Dropbox; real peers, Dropbox fake)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let src: Awaited<ReturnType<typeof makeTestArchive>>;
  let registry: DestinationRegistry;
  let dropbox: DropboxFake;

  beforeAll(async () => {
    tmp = await tempDir('pbx-readback-');
    src = await makeTestArchive(tmp.path, 2 * 1024 * 1024 + 3, 'Nightly_20261201-013000.sar');
    await mkdir(join(tmp.path, 'local'));
    dropbox = await startDropboxFake();
    registry = createDestinationRegistry({
      localRoot: join(tmp.path, 'local'), usbRoot: join(tmp.path, 'usb'), smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'x@example.test',
      dropbox: { appKey: dropbox.appKey, appSecret: dropbox.appSecret, apiBase: dropbox.url }, tempDir: tmp.path,
    });
  });
  afterAll(async () => {
    await dropbox?.close();
    await tmp.remove();
  });

  const sub = uniqueName('rb');
  const kinds: Array<[string, () => DestinationConfig, (name: string) => string]> = [
    ['local', () => ({ type: 'local', path: sub }), (name) => join(tmp.path, 'local', sub, 'starface-backup', name)],
    ['sftp', () => peerSftpDestination(sub) as DestinationConfig, (name) => join(peers.sftp.homeDir, sub, 'starface-backup', name)],
    ['smb (smbclient)', () => peerSmbDestination(sub) as DestinationConfig, (name) => join(peers.smb.shareDir, sub, 'starface-backup', name)],
    ['smb (legacy-smb2)', () => peerSmbDestination(sub, 'legacy-smb2') as DestinationConfig, (name) => join(peers.smb.legacyShareDir, sub, 'starface-backup', name)],
    ['dropbox', () => ({ type: 'dropbox', refreshToken: dropbox.issueRefreshToken(), path: `/${sub}` }) as DestinationConfig, (name) => dropbox.localPath(`/${sub}/starface-backup/${name}`)],
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
    // Flipped, not overwritten: the archive is random, the byte there may already be any value.
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 12345);
    await fh.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 12345);
    await fh.close();
    const changed = await registry.hash(config, name, src.fileName);
    expect(changed).toMatchObject({ state: 'stored', size: src.size });
    expect((changed as { sha256: string }).sha256).not.toBe(src.sha256);

    await rm(file);
    expect(await registry.hash(config, name, src.fileName)).toEqual({ state: 'missing' });
    expect(await registry.hash(config, name, src.fileName, { copyTo: join(tmp.path, `${uniqueName('gone')}.sar`) })).toEqual({ state: 'missing' });
    expect(await registry.listDetailed(config, name)).toEqual([]);
  });

  it('Dropbox fake download: bytes as octet-stream, metadata in Dropbox-API-Result (non-ASCII escaped), ranges, not_found / not_file', async () => {
    const config = { type: 'dropbox', refreshToken: dropbox.issueRefreshToken(), path: `/${sub}-wire` } as DestinationConfig;
    const name = 'Büro Nächtlich';
    await registry.deliver(config, { ...src, configurationName: name });
    const token = await accessToken();
    const path = `/${sub}-wire/starface-backup/${name}/${src.fileName}`;
    const download = (arg: unknown, headers: Record<string, string> = {}) =>
      fetch(`${dropbox.url}/2/files/download`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'dropbox-api-arg': JSON.stringify(arg).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), ...headers } });
    const whole = await download({ path });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('application/octet-stream');
    const raw = whole.headers.get('dropbox-api-result')!;
    expect(raw).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(raw)).toMatchObject({ '.tag': 'file', name: src.fileName, path_display: path, size: src.size, content_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Buffer.from(await whole.arrayBuffer()).length).toBe(src.size);
    const part = await download({ path }, { range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${src.size}`);
    expect(Buffer.from(await part.arrayBuffer()).length).toBe(10);
    const missing = await download({ path: `${path}.nope` });
    expect(missing.status).toBe(409);
    expect(await missing.json()).toMatchObject({ error_summary: expect.stringMatching(/^path\/not_found/), error: { '.tag': 'path', path: { '.tag': 'not_found' } } });
    const folder = await download({ path: `/${sub}-wire/starface-backup/${name}` });
    expect(folder.status).toBe(409);
    expect(await folder.json()).toMatchObject({ error: { path: { '.tag': 'not_file' } } });
  });

  /** An access token of the fake, the way the SDK gets one. */
  async function accessToken(): Promise<string> {
    const res = await fetch(`${dropbox.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: dropbox.issueRefreshToken(), client_id: dropbox.appKey, client_secret: dropbox.appSecret }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('cannot read back e-mail', async () => {
    expect(await registry.hash({ type: 'email', to: 'a@example.test' } as DestinationConfig, 'x', src.fileName)).toEqual({ state: 'notVerifiable' });
  });

  it('legacy SMB driver: a copy the account may only read is read back; a local copy that cannot be written fails as the local disk does; a folder is no copy', async () => {
    const config = peerSmbDestination(sub, 'legacy-smb2') as DestinationConfig;
    const name = uniqueName('ReadOnly');
    await registry.deliver(config, { ...src, configurationName: name });
    const file = join(peers.smb.legacyShareDir, sub, 'starface-backup', name, src.fileName);
    // The library's open() asks for write and delete access, which this file refuses.
    await chmod(file, 0o444);
    const copy = join(tmp.path, `${uniqueName('ro')}.sar`);
    expect(await registry.hash(config, name, src.fileName, { copyTo: copy })).toEqual({ state: 'stored', sha256: src.sha256, size: src.size });
    expect((await stat(copy)).mode & 0o777).toBe(0o600);
    expect(await sha256File(copy)).toBe(src.sha256);

    const nowhere = join(tmp.path, 'no-such-dir', 'copy.sar');
    const err = await registry.hash(config, name, src.fileName, { copyTo: nowhere }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'notFound', permanent: true, message: expect.stringContaining('cannot write the local copy') });
    // A folder where the copy should be is no copy.
    await mkdir(join(peers.smb.legacyShareDir, sub, 'starface-backup', name, 'Folder_20261201-013000.sar'));
    expect(await registry.hash(config, name, 'Folder_20261201-013000.sar')).toEqual({ state: 'missing' });
    await chmod(file, 0o644);
  });
});

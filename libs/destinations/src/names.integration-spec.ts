import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestArchive, peers, tempDir, uniqueName, waitForMail, peerSftpDestination, peerSmbDestination } from '@pbx/testing';
import { artifactFileName } from './artifact-name';
import type { DestinationConfig } from './destination-config';
import { DeliveryRequest } from './delivery';
import { EmailAdapter } from './email.adapter';
import { LocalAdapter } from './local.adapter';
import { SftpAdapter } from './sftp.adapter';
import { SmbAdapter } from './smb.adapter';
import { UsbAdapter } from './usb.adapter';

/**
 * A configuration name with non-ASCII characters arrives under exactly that name (NFC bytes)
 * at every destination kind: the folder and the file are listed on the real peer. A legacy
 * name stored NFD (before names were stored NFC) arrives NFC too.
 */
const NAMES: [string, string][] = [
  ['umlaut', 'Sicherung Müller'],
  ['NFD legacy', 'Sicherung Müller'.normalize('NFD')],
  ['accent', 'École É'],
  ['sharp s', 'Straße ß'],
  ['CJK', '東京 バックアップ'],
];

/** Raw bytes of each entry: readdir's strings would hide an encoding difference. */
async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir, { encoding: 'buffer' })).map((b) => b.toString('hex'));
}
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('non-ASCII configuration names arrive NFC and exact at every destination kind', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let archive: Awaited<ReturnType<typeof makeTestArchive>>;
  const runId = '3f2a9c1e-0000-4000-8000-000000000001';

  beforeAll(async () => {
    tmp = await tempDir('pbx-names-');
    archive = await makeTestArchive(tmp.path, 256 * 1024 + 3);
  });
  afterAll(() => tmp.remove());

  /** The request the dispatcher makes: the file name is built from the (stored) name. */
  function request(name: string, tag: string): DeliveryRequest & { nfcName: string; nfcFile: string } {
    const configurationName = `${name} ${tag}`;
    const fileName = artifactFileName(configurationName, new Date('2026-12-01T01:30:00Z'), runId);
    return { ...archive, configurationName, fileName, nfcName: configurationName.normalize('NFC'), nfcFile: fileName.normalize('NFC') };
  }

  async function expectArrived(folderParent: string, req: ReturnType<typeof request>): Promise<void> {
    expect(await entries(folderParent)).toContain(hex(req.nfcName));
    expect(await entries(join(folderParent, req.nfcName))).toEqual([hex(req.nfcFile)]);
  }

  async function deliverAndList(adapter: { deliver(c: DestinationConfig, r: DeliveryRequest): Promise<{ location: string }>; list(c: DestinationConfig, n: string): Promise<string[]> }, config: DestinationConfig, req: ReturnType<typeof request>) {
    const res = await adapter.deliver(config, req);
    expect(res.location).toBe(`starface-backup/${req.nfcName}/${req.nfcFile}`);
    // Retention lists by the name the run carries: the same folder, whichever form it is in.
    expect(await adapter.list(config, req.configurationName)).toEqual([req.nfcFile]);
  }

  describe.each(NAMES)('%s', (label, name) => {
    it('local', async () => {
      const root = join(tmp.path, uniqueName('local'));
      const { mkdir } = await import('node:fs/promises');
      await mkdir(root);
      const req = request(name, uniqueName());
      await deliverAndList(new LocalAdapter(root, { fsync: false }) as never, { type: 'local' }, req);
      await expectArrived(join(root, 'starface-backup'), req);
    });

    it('usb', async () => {
      const usbRoot = join(tmp.path, uniqueName('usb'));
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(usbRoot, 'stick'), { recursive: true });
      const req = request(name, uniqueName());
      await deliverAndList(new UsbAdapter({ usbRoot, allowUnmounted: true }) as never, { type: 'usb', device: 'stick' }, req);
      await expectArrived(join(usbRoot, 'stick', 'starface-backup'), req);
    });

    it('sftp', async () => {
      const sub = uniqueName('names');
      const config: DestinationConfig = peerSftpDestination(sub);
      const req = request(name, uniqueName());
      await deliverAndList(new SftpAdapter({ readyTimeoutMs: 10_000 }) as never, config, req);
      await expectArrived(join(peers.sftp.homeDir, sub, 'starface-backup'), req);
    });

    it('smb (smbclient)', async () => {
      const sub = uniqueName('names');
      const config: DestinationConfig = peerSmbDestination(sub);
      const req = request(name, uniqueName());
      await deliverAndList(new SmbAdapter({ tempDir: tmp.path }) as never, config, req);
      await expectArrived(join(peers.smb.shareDir, sub, 'starface-backup'), req);
    });

    it('smb (legacy-smb2)', async () => {
      const sub = uniqueName('names');
      const config: DestinationConfig = peerSmbDestination(sub, 'legacy-smb2');
      const req = request(name, uniqueName());
      await deliverAndList(new SmbAdapter({ tempDir: tmp.path, legacy: { timeoutMs: 60_000 } }) as never, config, req);
      await expectArrived(join(peers.smb.legacyShareDir, sub, 'starface-backup'), req);
    });

    it('email attachment name', async () => {
      const adapter = new EmailAdapter({ smtpUrl: peers.smtp.url, mailFrom: 'pbx@example.test' });
      const to = `${uniqueName('names')}@example.test`;
      const req = request(name, uniqueName());
      const res = await adapter.deliver({ type: 'email', to }, req);
      expect(res.location).toBe(`starface-backup/${req.nfcName}/${req.nfcFile}`);
      const { mail } = await waitForMail((m) => m.to !== undefined && JSON.stringify(m.to).includes(to));
      expect(mail.attachments).toHaveLength(1);
      expect(hex(mail.attachments[0]!.filename!)).toBe(hex(req.nfcFile));
      expect(hex(mail.subject ?? '')).toContain(hex(req.nfcName));
      expect(mail.headers.get('x-pbx-backup-configuration')).toBe(encodeURIComponent(req.nfcName));
    });

    void label;
  });
});

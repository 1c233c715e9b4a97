import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { tempDir } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';

const PATH = '/api/v1/destinations/usb/volumes';

type Volumes = { items: { device: string; freeBytes?: number; totalBytes?: number }[] };

const volumes = async (api: TestApi): Promise<Volumes> => {
  const res = await request(api.base).get(PATH).set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
  return res.body as Volumes;
};

describe('GET /destinations/usb/volumes: the volumes under USB_MOUNT_ROOT, judged as the USB adapter judges a device', () => {
  let root: { path: string; remove(): Promise<void> };
  const apis: TestApi[] = [];
  const boot = async (overrides: Record<string, string | boolean>) => {
    const api = await startTestApi('api_usbvol', overrides);
    apis.push(api);
    return api;
  };

  beforeAll(async () => {
    root = await tempDir('pbx-usb-volumes-');
    await mkdir(join(root.path, 'stick-b'));
    await mkdir(join(root.path, 'Stick A'));
    // Not a name a usb destination may carry, and not a folder: neither is offered.
    await mkdir(join(root.path, 'bad.'));
    await writeFile(join(root.path, 'notes.txt'), 'x');
  });

  afterAll(async () => {
    for (const api of apis) await api.close();
    await root.remove();
  });

  it('with USB_ALLOW_UNMOUNTED: every folder with a valid device name, sorted, with free and total bytes', async () => {
    const api = await boot({ USB_MOUNT_ROOT: root.path, USB_ALLOW_UNMOUNTED: true });
    const { items } = await volumes(api);
    expect(items.map((v) => v.device)).toEqual(['Stick A', 'stick-b']);
    for (const v of items) {
      expect(v.totalBytes).toBeGreaterThan(0);
      expect(v.freeBytes).toBeGreaterThanOrEqual(0);
      expect(v.freeBytes).toBeLessThanOrEqual(v.totalBytes ?? 0);
    }
  });

  it('without it: only mount points (an empty mount folder of an unplugged stick is not a volume)', async () => {
    const plain = await boot({ USB_MOUNT_ROOT: root.path, USB_ALLOW_UNMOUNTED: false });
    expect((await volumes(plain)).items).toEqual([]);
    // "/" holds real mount points (proc) next to plain folders (etc).
    const system = await boot({ USB_MOUNT_ROOT: '/', USB_ALLOW_UNMOUNTED: false });
    const devices = (await volumes(system)).items.map((v) => v.device);
    expect(devices).toContain('proc');
    expect(devices).not.toContain('etc');
  });

  it('an absent USB_MOUNT_ROOT lists nothing', async () => {
    const api = await boot({ USB_MOUNT_ROOT: join(root.path, 'missing'), USB_ALLOW_UNMOUNTED: true });
    expect(await volumes(api)).toEqual({ items: [] });
  });
});

import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { UsbDestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, ReadBackOptions, StoredFile, StoredHash, TestReport } from './delivery';
import { deliverToDirectory, DirectoryDeliveryOptions, hashInDirectory, listDirectory, listDirectoryDetailed, removeFromDirectory, testDirectory } from './fs-delivery';
import { usbDeviceName } from './paths';
import { isMountPoint } from './usb-volumes';

export interface UsbAdapterOptions {
  usbRoot: string;
  /** Tests and single-disk setups: accept a plain directory that is not a mount point. */
  allowUnmounted?: boolean;
  /** 'size' (default) or 'sha256' — see DirectoryDeliveryOptions.verify. USB copies are always fsynced. */
  verify?: DirectoryDeliveryOptions['verify'];
}

/**
 * A USB volume mounted below `usbRoot` (e.g. /media/usb/<device>). The target must be a
 * mount point: writing into the empty mount directory of an unplugged stick would fill the
 * system disk and look like a successful backup.
 */
export class UsbAdapter implements DestinationAdapter<UsbDestinationConfig> {
  readonly type = 'usb' as const;

  constructor(private readonly options: UsbAdapterOptions) {}

  label(config: UsbDestinationConfig): string {
    return `[USB]${config.device ?? resolve(this.options.usbRoot)}`;
  }

  async deliver(config: UsbDestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    return deliverToDirectory(await this.mountedTarget(config), req, this.label(config), { verify: this.options.verify });
  }

  async list(config: UsbDestinationConfig, configurationName: string): Promise<string[]> {
    return listDirectory(await this.mountedTarget(config), configurationName);
  }

  async listDetailed(config: UsbDestinationConfig, configurationName: string): Promise<StoredFile[]> {
    return listDirectoryDetailed(await this.mountedTarget(config), configurationName);
  }

  async hash(config: UsbDestinationConfig, configurationName: string, fileName: string, options?: ReadBackOptions): Promise<StoredHash> {
    return hashInDirectory(await this.mountedTarget(config), configurationName, fileName, options);
  }

  async remove(config: UsbDestinationConfig, configurationName: string, fileName: string): Promise<void> {
    return removeFromDirectory(await this.mountedTarget(config), configurationName, fileName);
  }

  async test(config: UsbDestinationConfig): Promise<TestReport> {
    let dir: string;
    try {
      dir = await this.mountedTarget(config);
    } catch (err) {
      const e = err as DeliveryError;
      return { ok: false, code: e.code, steps: [{ step: 'check mount', ok: false, detail: e.message }] };
    }
    return testDirectory(dir, [{ step: 'check mount', ok: true, detail: dir }]);
  }

  private async mountedTarget(config: UsbDestinationConfig): Promise<string> {
    const device = usbDeviceName(config);
    const dir = device === undefined ? this.options.usbRoot : join(this.options.usbRoot, device);
    const st = await stat(dir).catch(() => null);
    if (!st?.isDirectory()) throw new DeliveryError('mountfail', `USB volume ${dir} is not present`, false);
    if (this.options.allowUnmounted) return dir;
    if (!(await isMountPoint(dir))) throw new DeliveryError('mountfail', `USB volume ${dir} is not mounted`, false);
    return dir;
  }
}

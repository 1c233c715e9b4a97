import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { UsbDestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, ReadBackOptions, StoredFile, StoredHash, TestReport } from './delivery';
import { deliverToDirectory, DirectoryDeliveryOptions, hashInDirectory, listDirectory, listDirectoryDetailed, removeFromDirectory, testDirectory } from './fs-delivery';
import { usbDeviceName } from './paths';

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

/**
 * True if `dir` is a mount point: listed in /proc/self/mountinfo, or (where /proc is not
 * available) on a different device than its parent.
 */
export async function isMountPoint(dir: string): Promise<boolean> {
  const real = await realpath(dir);
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => null);
  if (info !== null) {
    return info.split('\n').some((line) => {
      const mountPoint = line.split(' ')[4];
      return mountPoint !== undefined && unescapeMountinfo(mountPoint) === real;
    });
  }
  const [self, parent] = await Promise.all([stat(real), stat(dirname(real))]);
  return self.dev !== parent.dev || self.ino === parent.ino;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

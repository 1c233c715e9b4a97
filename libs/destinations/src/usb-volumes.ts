import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { portableNameProblems } from '@pbx/contracts';

/** One volume below the USB root, as the wizard offers it: `device` is what a usb destination saves. */
export interface UsbVolume {
  device: string;
  freeBytes?: number;
  totalBytes?: number;
}

export interface UsbVolumeListOptions {
  usbRoot: string;
  /** USB_ALLOW_UNMOUNTED: any folder counts, not only mount points. */
  allowUnmounted?: boolean;
}

/**
 * The volumes present under the USB root, judged as the USB adapter judges a device: a
 * folder directly below the root whose name a usb destination may carry, and (unless
 * allowUnmounted) a mount point — the empty mount folder of an unplugged stick is not a
 * volume. Sorted by name; an absent root lists nothing.
 */
export async function listUsbVolumes(options: UsbVolumeListOptions): Promise<UsbVolume[]> {
  const entries: Dirent[] = await readdir(options.usbRoot, { withFileTypes: true }).catch(() => []);
  const volumes: UsbVolume[] = [];
  for (const entry of entries) {
    if (portableNameProblems(entry.name).length) continue;
    const dir = join(options.usbRoot, entry.name);
    // A symlinked mount folder counts as the adapter's stat() follows it too.
    const st = await stat(dir).catch(() => null);
    if (!st?.isDirectory()) continue;
    if (!options.allowUnmounted && !(await isMountPoint(dir).catch(() => false))) continue;
    volumes.push({ device: entry.name, ...(await space(dir)) });
  }
  return volumes.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
}

/** Free and total bytes of the file system holding `dir`; nothing when it cannot be asked. */
async function space(dir: string): Promise<Pick<UsbVolume, 'freeBytes' | 'totalBytes'>> {
  const fs = await statfs(dir).catch(() => null);
  return fs ? { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize } : {};
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

import { listUsbVolumes, type UsbVolume, type UsbVolumeListOptions } from '@pbx/destinations';

export interface UsbVolumesResponse {
  items: UsbVolume[];
}

/**
 * The USB volumes the wizard offers: what is plugged in below USB_MOUNT_ROOT, judged as the
 * USB adapter judges a device (a mount point unless USB_ALLOW_UNMOUNTED). The api runs on the
 * same machine as the dispatcher, so it sees the same mounts.
 */
export class UsbVolumesService {
  constructor(private readonly options: UsbVolumeListOptions) {}

  async list(): Promise<UsbVolumesResponse> {
    return { items: await listUsbVolumes(this.options) };
  }
}

import type { FaultRule } from './fault-table';
import { oneOf } from './fault-table';

/** A failed file-system call of a local or USB delivery: Node's errno code. */
export interface FsFault {
  errno?: string;
}

const errno =
  (...codes: string[]) =>
  (f: FsFault) =>
    oneOf(...codes)(f.errno);

/**
 * Local disks and mounted volumes (local, usb): errno → code, permanent or not. A volume that
 * went away (stick pulled, NFS/FUSE mount gone) comes back; rights, space and names need a human.
 */
export const FS_FAULTS: readonly FaultRule<FsFault>[] = [
  { when: 'EACCES, EPERM (no write permission)', match: errno('EACCES', 'EPERM'), code: 'sftpRightProblem', permanent: true },
  { when: 'EROFS (read-only file system)', match: errno('EROFS'), code: 'sftpRightProblem', permanent: true },
  { when: 'ENOSPC, EDQUOT, EFBIG (disk full, quota, file too large for the file system)', match: errno('ENOSPC', 'EDQUOT', 'EFBIG'), code: 'quotaExceeded', permanent: true },
  { when: 'ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG (a path that cannot be, e.g. a file where the folder belongs)', match: errno('ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG'), code: 'notFound', permanent: true },
  { when: 'ENODEV, ENXIO, ESTALE, ENOTCONN, EHOSTDOWN (the volume or network mount went away)', match: errno('ENODEV', 'ENXIO', 'ESTALE', 'ENOTCONN', 'EHOSTDOWN'), code: 'mountfail', permanent: false },
  { when: 'ABORT_ERR, ETIMEDOUT (aborted via signal, timed out)', match: errno('ABORT_ERR', 'ETIMEDOUT'), code: 'timeout', permanent: false },
  { when: 'EIO, EBUSY, EAGAIN, EMFILE, ENFILE (the device or the system is busy or failing)', match: errno('EIO', 'EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE'), code: 'ioError', permanent: false },
  { when: 'anything else', match: () => true, code: 'ioError', permanent: false },
];

import { execFile } from 'node:child_process';
import { constants as fsConstants, createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { uploadStream } from './upload-throttle';
import { copyFile, lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DeliveryCode } from '@pbx/contracts';
import { DeliveryError, DeliveryRequest, DeliveryResult, errorMessage, namesOf, ReadBackOptions, StoredFile, StoredHash, TestReport, TestStep, throwIfAborted } from './delivery';
import { dyingWithParent, EXEC_FAILED_EXIT } from './child-process';
import { classifyFault } from './fault-table';
import { hashingSink, sha256File } from './file-hash';
import { FS_FAULTS } from './fs-faults';
import { debrisToRemove, isPartialName, partialName } from './partial-files';
import { backupDir, backupLocation, checkSegment, probeName } from './paths';

/** errno → delivery code, for local disks and mounted volumes (the table: FS_FAULTS). */
export function fsErrorCode(err: unknown): Exclude<DeliveryCode, 'successful'> {
  return classifyFault(FS_FAULTS, { errno: (err as NodeJS.ErrnoException)?.code }).code;
}

export function fsError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const rule = classifyFault(FS_FAULTS, { errno: (err as NodeJS.ErrnoException)?.code });
  return new DeliveryError(rule.code, `${what}: ${errorMessage(err)}`, rule.permanent, { cause: err });
}

export interface DirectoryDeliveryOptions {
  /**
   * fsync the file and its folder before reporting success (default true): a backup that
   * is "done" must survive a power cut. Costs disk speed instead of page-cache speed.
   */
  fsync?: boolean;
  /**
   * 'size' (default): the copy's size must equal the archive's. 'sha256': also hash the
   * archive while the kernel copies it and compare with the expected sha256 — this catches
   * an archive that changed since it was packed, not a bad copy, and costs a full read and
   * a hash pass, which then bounds the copy (0.1x of `cp` on 2 cores; bench/deliver).
   */
  verify?: 'sha256' | 'size';
}

/**
 * Copies into `<root>/starface-backup/<name>/` via a hidden partial file, renames it over the
 * final name (atomic on one filesystem) and checks the copy's size (and with verify 'sha256'
 * the archive's hash). The copy itself is never re-read: that read would be served from the
 * page cache the copy just filled, so it would double the I/O and prove nothing about the
 * medium; the fsync is what makes the copy durable.
 * An identical file already there (same size and sha256) counts as delivered.
 */
export async function deliverToDirectory(root: string, req: DeliveryRequest, target: string, options: DirectoryDeliveryOptions = {}): Promise<DeliveryResult> {
  throwIfAborted(req.signal);
  const location = backupLocation(req.configurationName, req.fileName);
  const fileName = checkSegment('file name', req.fileName);
  const dir = join(root, backupDir(req.configurationName));
  const finalPath = join(dir, fileName);
  await makeDirs(dir);
  await sweepDirectory(dir, fileName, req.deliveryId);

  const existing = await stat(finalPath).catch(() => null);
  if (existing?.isFile() && existing.size === req.size && (await sha256File(finalPath, req.signal).catch(() => '')) === req.sha256) {
    req.onProgress?.(req.size);
    return { location, target, verified: 'sha256', alreadyPresent: true };
  }

  const verify = options.verify ?? 'size';
  const fsync = options.fsync ?? true;
  const tmp = join(dir, partialName(fileName, req.deliveryId));
  try {
    const written = await copyChecked(req.filePath, tmp, req, verify === 'sha256', fsync);
    if (written.size !== req.size) {
      throw new DeliveryError('ioError', `copy of ${req.fileName} has ${written.size} bytes, the archive ${req.size}`, false);
    }
    if (written.sha256 !== null && written.sha256 !== req.sha256) {
      throw new DeliveryError('ioError', `archive ${req.fileName} no longer matches its recorded sha256 (now ${written.sha256})`, false);
    }
    await rename(tmp, finalPath).catch((err: NodeJS.ErrnoException) => {
      // Our own partial vanished: an overlapping attempt of this delivery swept it. Not the folder's fault.
      if (err.code === 'ENOENT') throw new DeliveryError('ioError', `partial file of ${fileName} was removed during the copy`, false, { cause: err });
      throw err;
    });
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw fsError(err, `cannot write ${finalPath}`);
  }
  if (fsync) await syncDir(dir);

  const st = await stat(finalPath);
  if (st.size !== req.size) throw new DeliveryError('ioError', `size mismatch after copy: ${st.size} != ${req.size}`, false);
  return { location, target, verified: verify };
}

/**
 * The copy is done by coreutils `cp` (copy_file_range / reflink in the kernel — Node's
 * copyFile uses a slower sendfile loop), falling back to copyFile where there is no `cp`.
 * With `hash`, the other core hashes the archive meanwhile (from the page cache).
 */
async function copyChecked(src: string, dest: string, req: DeliveryRequest, hash: boolean, fsync: boolean): Promise<{ size: number; sha256: string | null }> {
  req.onProgress?.(0);
  const copy = req.maxBytesPerSecond ? pacedCopy(src, dest, req) : kernelCopy(src, dest, req.signal);
  const [sha256] = await Promise.all([hash ? sha256File(src, req.signal) : Promise.resolve(null), copy]);
  throwIfAborted(req.signal);
  const fh = await open(dest, 'r+');
  try {
    if (fsync) await fh.sync();
    const { size } = await fh.stat();
    req.onProgress?.(size);
    return { size, sha256 };
  } finally {
    await fh.close();
  }
}

/** A limited copy goes through the token bucket (the kernel copy cannot be paced). */
async function pacedCopy(src: string, dest: string, req: DeliveryRequest): Promise<void> {
  let sent = 0;
  const counted = uploadStream(src, req.maxBytesPerSecond, { signal: req.signal }).on('data', (c: Buffer) => req.onProgress?.((sent += c.length)));
  await pipeline(counted, createWriteStream(dest, { flags: 'wx' }));
}

function kernelCopy(src: string, dest: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cp = dyingWithParent('cp', ['--reflink=auto', '--no-preserve=all', '--', src, dest]);
    execFile(cp.file, cp.args, { signal }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as { code?: unknown }).code === EXEC_FAILED_EXIT) {
        copyFile(src, dest, fsConstants.COPYFILE_EXCL).then(resolve, reject);
        return;
      }
      if (signal?.aborted) return reject(new DeliveryError('timeout', 'delivery aborted', false));
      // cp reports errno text only; map the common ones so codes stay meaningful.
      const text = String(stderr);
      const code = /No space left|Disk quota/.test(text) ? 'ENOSPC' : /Permission denied/.test(text) ? 'EACCES' : /Read-only file system/.test(text) ? 'EROFS' : 'EIO';
      reject(Object.assign(new Error(`cp failed: ${text.trim()}`), { code }));
    });
  });
}

/**
 * mkdir -p that reports the real cause: Node's recursive mkdir turns e.g. EROFS into ENOENT,
 * so on failure the levels are created one by one to surface the first real error.
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(err, `cannot create ${dir}`);
  }
  const levels: string[] = [];
  for (let d = dir; d !== dirname(d); d = dirname(d)) levels.unshift(d);
  for (const level of levels) {
    try {
      await mkdir(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, `cannot create ${level}`);
    }
  }
}

/**
 * Removes this service's debris in the folder before a copy (debrisToRemove decides). Best
 * effort: a folder the sweep cannot read or clean is the copy's problem to report, not its.
 */
async function sweepDirectory(dir: string, fileName: string, deliveryId: string | undefined): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries = await Promise.all(
    names.filter(isPartialName).map(async (name) => {
      const st = await lstat(join(dir, name)).catch(() => null);
      return { name, mtimeMs: st?.mtimeMs ?? null, isDir: !st?.isFile() };
    }),
  );
  for (const name of debrisToRemove(entries, { fileName, deliveryId })) await rm(join(dir, name), { force: true }).catch(() => undefined);
}

async function syncDir(dir: string): Promise<void> {
  // Make the rename durable; not every filesystem supports fsync on a directory.
  const fh = await open(dir, 'r').catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

export async function listDirectory(root: string, configurationName: string): Promise<string[]> {
  return namesOf(await listDirectoryDetailed(root, configurationName));
}

export async function listDirectoryDetailed(root: string, configurationName: string): Promise<StoredFile[]> {
  const dir = join(root, backupDir(configurationName));
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    const names = entries.filter((e) => e.isFile() && !isPartialName(e.name) && !e.name.startsWith('.probe-')).map((e) => e.name);
    const files = await Promise.all(
      // A file removed between readdir and stat is simply no longer there.
      names.map(async (name): Promise<StoredFile | null> => stat(join(dir, name)).then((st) => ({ name, size: st.size, modifiedAt: new Date(st.mtimeMs) }), () => null)),
    );
    return files.filter((f): f is StoredFile => f !== null).sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(err, `cannot list ${dir}`);
  }
}

/** The stored copy's sha256, read from the disk (not a cache of ours: what is there now). */
export async function hashInDirectory(root: string, configurationName: string, fileName: string, options: ReadBackOptions = {}): Promise<StoredHash> {
  const file = join(root, backupDir(configurationName), checkSegment('file name', fileName));
  try {
    const st = await stat(file);
    if (!st.isFile()) return { state: 'missing' };
    const { sink, result } = hashingSink(options.copyTo);
    await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024, signal: options.signal }), sink);
    return { state: 'stored', ...result() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw fsError(err, `cannot read ${file}`);
  }
}

export async function removeFromDirectory(root: string, configurationName: string, fileName: string): Promise<void> {
  const file = join(root, backupDir(configurationName), checkSegment('file name', fileName));
  try {
    await rm(file, { force: true });
  } catch (err) {
    throw fsError(err, `cannot delete ${file}`);
  }
}

/** Probe: create starface-backup/, write a file, read it back, delete it. */
export async function testDirectory(root: string, steps: TestStep[]): Promise<TestReport> {
  const dir = join(root, 'starface-backup');
  const probe = join(dir, probeName());
  try {
    await makeDirs(dir);
    steps.push({ step: 'mkdir starface-backup', ok: true });
    await writeProbe(probe);
    steps.push({ step: 'write probe file', ok: true });
    await rm(probe);
    steps.push({ step: 'delete probe file', ok: true });
    return { ok: true, steps };
  } catch (err) {
    await rm(probe, { force: true }).catch(() => undefined);
    const e = fsError(err, 'probe failed');
    steps.push({ step: 'write probe file', ok: false, detail: e.message });
    return { ok: false, steps, code: e.code };
  }
}

async function writeProbe(path: string): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile('pbx-backup probe\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

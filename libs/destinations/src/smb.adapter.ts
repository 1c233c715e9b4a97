import { copyFile, mkdtemp, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SmbDestinationConfig } from './destination-config';
import { CONNECT_FAILED, DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, errorMessage, failedStep, namesOf, ReadBackOptions, StoredFile, StoredHash, TestReport, TestStep, throwIfAborted } from './delivery';
import { sha256File } from './file-hash';
import { debrisToRemove, type FolderEntry, isPartialName, partialName } from './partial-files';
import { backupDir, backupLocation, BACKUP_FOLDER, checkSegment, probeName } from './paths';
import { LegacySmb2Driver, LegacySmb2Options } from './smb2-legacy.driver';
import { parseSmbTarget, smbLabel } from './smb-target';
import { checkRun, firstNtStatus, parseAllinfoSize, parseLs, q, SmbclientOptions, SmbclientRunner } from './smbclient.driver';

export interface SmbAdapterOptions extends SmbclientOptions {
  legacy?: LegacySmb2Options;
}

const MISSING = ['NT_STATUS_OBJECT_NAME_NOT_FOUND', 'NT_STATUS_OBJECT_PATH_NOT_FOUND', 'NT_STATUS_NO_SUCH_FILE'];

/** mkdir on an existing directory is fine: drop those lines before looking for errors. */
function withoutExistingDirs(output: string): string {
  return output
    .split('\n')
    .filter((l) => !/NT_STATUS_OBJECT_NAME_COLLISION making remote directory/.test(l))
    .join('\n');
}

/** A sweep is best effort, except that a server we cannot reach or log on to fails it as the upload would. */
function sweepFailure(err: unknown): FolderEntry[] {
  if (err instanceof DeliveryError && ['mountfail', 'authFailed', 'timeout'].includes(err.code)) throw err;
  return [];
}

/** "a/b/c" → ["a", "a/b", "a/b/c"]: SMB creates one level at a time. */
export function dirLevels(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * SMB/CIFS shares. Default driver: Samba's `smbclient` (SMB2/3, signing, encryption, NTLMv2,
 * Kerberos). `driver: 'legacy-smb2'` uses @marsaud/smb2 in an isolated child process, only
 * for old devices that speak nothing newer than SMB 2.0.2 with NTLMv1.
 */
export class SmbAdapter implements DestinationAdapter<SmbDestinationConfig> {
  readonly type = 'smb' as const;
  private readonly runner: SmbclientRunner;
  private readonly legacy: LegacySmb2Driver;

  constructor(private readonly options: SmbAdapterOptions = {}) {
    this.runner = new SmbclientRunner(options);
    // One allowlist for both drivers.
    this.legacy = new LegacySmb2Driver({ hosts: options.hosts, ...options.legacy });
  }

  label(config: SmbDestinationConfig): string {
    return smbLabel(config) + (config.driver === 'legacy-smb2' ? ' (legacy SMB2/NTLMv1)' : '');
  }

  async deliver(config: SmbDestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    throwIfAborted(req.signal);
    const target = parseSmbTarget(config);
    const location = backupLocation(req.configurationName, req.fileName);
    const fileName = checkSegment('file name', req.fileName);
    const dir = [target.subdir, backupDir(req.configurationName)].filter(Boolean).join('/');
    const tmp = `${dir}/${partialName(fileName, req.deliveryId)}`;
    const finalPath = `${dir}/${fileName}`;

    if (config.driver === 'legacy-smb2') {
      const entries: FolderEntry[] = await this.legacy.list(config, dir).catch(sweepFailure);
      const debris = debrisToRemove(entries, { fileName, deliveryId: req.deliveryId }).map((name) => `${dir}/${name}`);
      await this.legacy.deliver(config, { ...req, dirLevels: dirLevels(dir), tmpPath: tmp, finalPath, debris });
      return { location, target: this.label(config), verified: 'size' };
    }
    await this.sweep(config, dir, fileName, req);

    const localPath = await realpath(req.filePath).catch((err: unknown) => {
      throw new DeliveryError('ioError', `cannot read ${req.filePath}: ${errorMessage(err)}`, false);
    });
    req.onProgress?.(0);
    let run;
    try {
      run = await this.runner.run(
        config,
        [...dirLevels(dir).map((d) => `mkdir ${q(d)}`), `put ${q(localPath)} ${q(tmp)}`, `rename ${q(tmp)} ${q(finalPath)} -f`, `allinfo ${q(finalPath)}`],
        { signal: req.signal, watchFile: localPath, onProgress: req.onProgress },
      );
      checkRun({ ...run, output: withoutExistingDirs(run.output) }, `upload to ${this.label(config)}`);
    } catch (err) {
      // Never leave a partial upload behind (best effort; the connection may be the problem).
      await this.removePartial(config, tmp);
      throw err;
    }
    const size = parseAllinfoSize(run.output);
    if (size !== req.size) {
      throw new DeliveryError('ioError', `size check of ${finalPath} failed: remote ${size ?? 'unknown'} != ${req.size}`, false);
    }
    req.onProgress?.(req.size);
    return { location, target: this.label(config), verified: 'size' };
  }

  /**
   * Deletes an interrupted upload's temp file. The server may still hold it open for the
   * session just cut (a cancelled or stalled smbclient was killed) and refuse the first
   * delete, so it is tried a few times over about 2 s; a server we cannot reach leaves it
   * to the next attempt's sweep.
   */
  private async removePartial(config: SmbDestinationConfig, tmp: string): Promise<void> {
    for (let attempt = 1; attempt <= 4; attempt++) {
      const run = await this.runner.run(config, [`del ${q(tmp)}`]).catch(() => null);
      if (!run || !firstNtStatus(run.output, MISSING)) return;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }

  /**
   * Removes this service's debris in the folder before an upload (debrisToRemove decides; the
   * server's write time says who still writes). A separate session, as smbclient takes its
   * commands up front; deleting needs a third one, only when there is debris. Best effort,
   * except that a server we cannot reach or log on to fails here as the upload would.
   */
  private async sweep(config: SmbDestinationConfig, dir: string, fileName: string, req: DeliveryRequest): Promise<void> {
    const entries: FolderEntry[] = await this.runner
      .run(config, [`ls ${q(`${dir}/*`)}`], { signal: req.signal })
      .then((run) => {
        checkRun(run, `list ${dir}`, MISSING);
        return parseLs(run.output);
      })
      .catch(sweepFailure);
    const debris = debrisToRemove(entries, { fileName, deliveryId: req.deliveryId });
    if (debris.length) await this.runner.run(config, debris.map((name) => `del ${q(`${dir}/${name}`)}`), { signal: req.signal }).catch(() => undefined);
  }

  async list(config: SmbDestinationConfig, configurationName: string): Promise<string[]> {
    return namesOf(await this.listDetailed(config, configurationName));
  }

  async listDetailed(config: SmbDestinationConfig, configurationName: string): Promise<StoredFile[]> {
    const target = parseSmbTarget(config);
    const dir = [target.subdir, backupDir(configurationName)].filter(Boolean).join('/');
    const entries =
      config.driver === 'legacy-smb2'
        ? await this.legacy.list(config, dir)
        : await this.runner.run(config, [`ls ${q(`${dir}/*`)}`]).then((run) => {
            checkRun(run, `list ${dir}`, MISSING);
            return parseLs(run.output);
          });
    return entries
      .filter((e) => !e.isDir && !isPartialName(e.name) && !e.name.startsWith('.probe-'))
      .map((e) => ({ name: e.name, size: e.size, modifiedAt: e.mtimeMs === null ? null : new Date(e.mtimeMs) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * smbclient fetches the copy into a private temp file that is hashed and removed (its
   * stdout carries the session's messages too). The legacy driver's worker streams it with
   * READs in flight, hashing as it goes and writing `copyTo` itself (no temp file).
   */
  async hash(config: SmbDestinationConfig, configurationName: string, fileName: string, options: ReadBackOptions = {}): Promise<StoredHash> {
    const signal = options.signal;
    const target = parseSmbTarget(config);
    const file = [target.subdir, backupDir(configurationName), checkSegment('file name', fileName)].filter(Boolean).join('/');
    if (config.driver === 'legacy-smb2') return this.legacy.read(config, file, options);
    const local = await mkdtemp(join(this.options.tempDir ?? tmpdir(), 'pbx-smb-read-'));
    try {
      const copy = join(local, 'copy');
      const run = await this.runner.run(config, [`get ${q(file)} ${q(copy)}`], { signal });
      const hit = firstNtStatus(run.output);
      if (hit && MISSING.includes(hit.status)) return { state: 'missing' };
      checkRun(run, `read ${file}`);
      const { size } = await stat(copy);
      const sha256 = await sha256File(copy, signal);
      if (options.copyTo) await copyFile(copy, options.copyTo);
      return { state: 'stored', sha256, size };
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  }

  async remove(config: SmbDestinationConfig, configurationName: string, fileName: string): Promise<void> {
    const target = parseSmbTarget(config);
    const file = [target.subdir, backupDir(configurationName), checkSegment('file name', fileName)].filter(Boolean).join('/');
    if (config.driver === 'legacy-smb2') return this.legacy.remove(config, file);
    const run = await this.runner.run(config, [`del ${q(file)}`]);
    checkRun(run, `delete ${file}`, MISSING);
  }

  async test(config: SmbDestinationConfig, signal?: AbortSignal): Promise<TestReport> {
    const steps: TestStep[] = [];
    let current = 'connect';
    try {
      const target = parseSmbTarget(config);
      const dir = [target.subdir, BACKUP_FOLDER].filter(Boolean).join('/');
      const probe = `${dir}/${probeName()}`;
      if (config.driver === 'legacy-smb2') {
        current = 'connect, write and delete probe (legacy SMB2 driver)';
        await this.legacy.probe(config, dirLevels(dir), probe, signal);
        steps.push({ step: current, ok: true });
        return { ok: true, steps };
      }
      checkRun(await this.runner.run(config, ['ls'], { signal }), 'connect');
      steps.push({ step: 'connect', ok: true, detail: `//${target.server}/${target.share}` });
      current = 'write and delete probe file';
      const local = await mkdtemp(join(this.options.tempDir ?? tmpdir(), 'pbx-smb-probe-'));
      try {
        await writeFile(join(local, 'probe'), 'pbx-backup probe\n');
        const run = await this.runner.run(config, [...dirLevels(dir).map((d) => `mkdir ${q(d)}`), `put ${q(join(local, 'probe'))} ${q(probe)}`, `del ${q(probe)}`], { signal });
        checkRun({ ...run, output: withoutExistingDirs(run.output) }, current);
      } finally {
        await rm(local, { recursive: true, force: true });
      }
      steps.push({ step: current, ok: true });
      return { ok: true, steps };
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError('ioError', errorMessage(err));
      // Not getting in is reported as SFTP does: the step is 'connect', whatever the driver was at.
      steps.push(failedStep(e.message === CONNECT_FAILED ? 'connect' : current, e));
      return { ok: false, steps, code: e.code };
    }
  }
}

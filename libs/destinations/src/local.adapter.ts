import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { LocalDestinationConfig } from './destination-config';
import { DeliveryError, DeliveryRequest, DeliveryResult, DestinationAdapter, ReadBackOptions, StoredFile, StoredHash, TestReport } from './delivery';
import { deliverToDirectory, DirectoryDeliveryOptions, hashInDirectory, listDirectory, listDirectoryDetailed, removeFromDirectory, testDirectory } from './fs-delivery';
import { localSubPath } from './paths';

/**
 * A directory on the service's own disk, below `localRoot`. The configured `path` is
 * relative to that root and judged by the api's own rule (no "..", no absolute path); a
 * symlink leading outside is refused too, so a user-entered path can never write elsewhere
 * on the host.
 */
export class LocalAdapter implements DestinationAdapter<LocalDestinationConfig> {
  readonly type = 'local' as const;

  constructor(
    private readonly localRoot: string,
    private readonly options: DirectoryDeliveryOptions = {},
  ) {}

  label(config: LocalDestinationConfig): string {
    try {
      return `[LOCAL]${this.lexicalTarget(config)}`;
    } catch {
      return `[LOCAL]${resolve(this.localRoot)} (invalid path)`;
    }
  }

  async deliver(config: LocalDestinationConfig, req: DeliveryRequest): Promise<DeliveryResult> {
    return deliverToDirectory(await this.resolveTarget(config), req, this.label(config), this.options);
  }

  async list(config: LocalDestinationConfig, configurationName: string): Promise<string[]> {
    return listDirectory(await this.resolveTarget(config), configurationName);
  }

  async listDetailed(config: LocalDestinationConfig, configurationName: string): Promise<StoredFile[]> {
    return listDirectoryDetailed(await this.resolveTarget(config), configurationName);
  }

  async hash(config: LocalDestinationConfig, configurationName: string, fileName: string, options?: ReadBackOptions): Promise<StoredHash> {
    return hashInDirectory(await this.resolveTarget(config), configurationName, fileName, options);
  }

  async remove(config: LocalDestinationConfig, configurationName: string, fileName: string): Promise<void> {
    return removeFromDirectory(await this.resolveTarget(config), configurationName, fileName);
  }

  async test(config: LocalDestinationConfig): Promise<TestReport> {
    let dir: string;
    try {
      dir = await this.resolveTarget(config);
    } catch (err) {
      const e = err as DeliveryError;
      return { ok: false, code: e.code, steps: [{ step: 'resolve path', ok: false, detail: e.message }] };
    }
    return testDirectory(dir, [{ step: 'resolve path', ok: true, detail: dir }]);
  }

  /** The target without touching the disk (for labels); throws on a path the api would refuse. */
  private lexicalTarget(config: LocalDestinationConfig): string {
    const root = resolve(this.localRoot);
    const sub = localSubPath(config);
    // Cannot happen for a canonical relative path; kept so no future rule change can write outside.
    const chosen = resolve(root, sub);
    if (!isInside(root, chosen)) {
      throw new DeliveryError('sftpRightProblem', `local path ${JSON.stringify(sub)} is outside the local backup root`, true);
    }
    return chosen;
  }

  /** Lexical check, then the same check on real paths so a symlink cannot lead outside. */
  private async resolveTarget(config: LocalDestinationConfig): Promise<string> {
    const target = this.lexicalTarget(config);
    const root = await realpath(this.localRoot).catch(() => {
      throw new DeliveryError('notFound', `local backup root ${this.localRoot} does not exist`, true);
    });
    // Walk up to the deepest existing ancestor: the rest will be created by us.
    let existing = target;
    while (!(await stat(existing).catch(() => null))) existing = join(existing, '..');
    const real = await realpath(existing);
    if (!isInside(root, real)) {
      throw new DeliveryError('sftpRightProblem', `local path ${JSON.stringify(config.path)} leads outside the local backup root`, true);
    }
    return join(real, relative(existing, target));
  }
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

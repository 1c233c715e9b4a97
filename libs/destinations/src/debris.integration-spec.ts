import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expectEventually, makeTestArchive, peers, repoRoot, tempDir, uniqueName, peerSftpDestination, peerSmbDestination } from '@pbx/testing';
import type { DestinationConfig, SftpDestinationConfig, SmbDestinationConfig } from './destination-config';
import { DeliveryRequest } from './delivery';
import { LocalAdapter } from './local.adapter';
import { PARTIAL_STALE_AFTER_MS, partialName } from './partial-files';
import { SftpAdapter } from './sftp.adapter';
import { dirLevels, SmbAdapter } from './smb.adapter';
import { UsbAdapter } from './usb.adapter';

/**
 * No debris at destinations: a delivery killed mid-upload (SIGKILL, no cleanup) leaves no
 * child process behind, and the next attempt of the same delivery removes its partial file;
 * before each upload, partials of ours that nobody wrote to for the safety age are swept,
 * and nothing else is touched. Against the real peers of scripts/test-peers.sh.
 */

type Kind = 'local' | 'smb' | 'smb-legacy' | 'sftp';

/** A Node process that runs one delivery through the adapter from the TypeScript sources. */
function startDeliveryProcess(dir: string, kind: Kind, options: unknown, config: DestinationConfig, req: DeliveryRequest): ChildProcess {
  const { compilerOptions } = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };
  const aliases = Object.fromEntries(Object.entries(compilerOptions.paths).map(([alias, [target]]) => [alias, join(repoRoot, target!)]));
  const register = `
    const { transformSync } = require(${JSON.stringify(require.resolve('@swc/core'))});
    const Module = require('node:module');
    const fs = require('node:fs');
    const aliases = ${JSON.stringify(aliases)};
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) { return resolve.call(this, aliases[request] ?? request, ...rest); };
    require.extensions['.ts'] = (m, filename) => m._compile(transformSync(fs.readFileSync(filename, 'utf8'), {
      filename, jsc: { parser: { syntax: 'typescript', decorators: true }, target: 'es2022' }, module: { type: 'commonjs' },
    }).code, filename);
    const adapters = require(${JSON.stringify(join(__dirname, 'adapters.ts'))});
    const [kind, options, config, req] = JSON.parse(process.argv[1]);
    const adapter = kind === 'local' ? new adapters.LocalAdapter(options.root) : kind === 'sftp' ? new adapters.SftpAdapter(options) : new adapters.SmbAdapter(options);
    adapter.deliver(config, req).then(() => console.log('delivered'), (err) => console.error(err));
  `;
  return spawn(process.execPath, ['--openssl-legacy-provider', '-e', register, JSON.stringify([kind, options, config, req])], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Pids of processes whose command line contains `needle` (other than this one). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of execFileSync('ls', ['/proc'], { encoding: 'utf8' }).split('\n')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

async function sigkill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function killLeftovers(needle: string): void {
  for (const pid of processesWith(needle)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const partialsIn = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((n) => n.includes('.partial-'));

describe('a delivery killed mid-upload: its child dies with it, the next attempt removes its partial', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let archive: Awaited<ReturnType<typeof makeTestArchive>>;

  beforeAll(async () => {
    tmp = await tempDir('pbx-debris-');
    archive = await makeTestArchive(tmp.path, 1024 * 1024 + 7);
  });
  afterAll(() => tmp.remove());

  /**
   * The archive is a FIFO this test feeds: the copy child (cp, smbclient) blocks on it, so the
   * kill lands mid-copy for certain and a child that outlived its parent would wait for ever.
   */
  async function killMidCopy(kind: 'local' | 'smb', options: unknown, config: DestinationConfig, folder: string) {
    const fifo = join(tmp.path, `${uniqueName('fifo')}.sar`);
    // cp has the archive on its command line; smbclient its private credentials folder (the archive goes in on stdin).
    const needle = kind === 'local' ? fifo : join(tmp.path, 'pbx-smb-');
    execFileSync('mkfifo', [fifo]);
    const req: DeliveryRequest = { ...archive, filePath: fifo, configurationName: uniqueName('kill'), deliveryId: randomUUID() };
    const dir = join(folder, 'starface-backup', req.configurationName);
    const child = startDeliveryProcess(tmp.path, kind, options, config, req);
    const writer = await open(fifo, 'w'); // returns once the copy child has opened the FIFO
    try {
      await writer.write(Buffer.alloc(256 * 1024, 1));
      await expectEventually(async () => (await partialsIn(dir)).length === 1 && processesWith(needle).length > 0, { message: 'the copy never started' });
      await sigkill(child);
      await expectEventually(() => processesWith(needle).length === 0, { timeoutMs: 5000, message: 'the copy child outlived the killed delivery' });
    } finally {
      await writer.close();
      killLeftovers(needle);
    }
    return { req, dir };
  }

  it('local: cp dies with the killed process; the next attempt leaves only the delivered file', async () => {
    const root = join(tmp.path, uniqueName('local'));
    await mkdir(root);
    const { req, dir } = await killMidCopy('local', { root }, { type: 'local' }, root);
    expect(await partialsIn(dir)).toHaveLength(1);

    await new LocalAdapter(root).deliver({ type: 'local' }, { ...req, filePath: archive.filePath });
    expect(await readdir(dir)).toEqual([req.fileName]);
  });

  it('smb (smbclient): smbclient dies with the killed process; the next attempt leaves only the delivered file', async () => {
    const sub = uniqueName('kill');
    const config: SmbDestinationConfig = peerSmbDestination(sub);
    const { req, dir } = await killMidCopy('smb', { tempDir: tmp.path }, config, join(peers.smb.shareDir, sub));

    await new SmbAdapter({ tempDir: tmp.path }).deliver(config, { ...req, filePath: archive.filePath });
    expect(await readdir(dir)).toEqual([req.fileName]);
  });

  /** SFTP and the legacy SMB worker read the archive at offsets (no FIFO): a big file, killed once its partial grows. */
  async function killMidUpload(kind: 'sftp' | 'smb-legacy', options: unknown, config: DestinationConfig, folder: string, big: { filePath: string; fileName: string; size: number; sha256: string }) {
    const req: DeliveryRequest = { ...big, configurationName: uniqueName('kill'), deliveryId: randomUUID() };
    const child = startDeliveryProcess(tmp.path, kind, options, config, req);
    const dir = join(folder, 'starface-backup', req.configurationName);
    try {
      await expectEventually(
        async () => {
          const [partial] = await partialsIn(dir);
          return partial !== undefined && (await stat(join(dir, partial)).catch(() => null))!.size > 0;
        },
        { timeoutMs: 20_000, message: 'the upload never started' },
      );
      await sigkill(child);
    } finally {
      child.kill('SIGKILL');
    }
    return { req, dir };
  }

  it('smb (legacy-smb2): the worker stops with the killed process and never finishes the file; the next attempt cleans up', async () => {
    const big = await makeTestArchive(await mkdir(join(tmp.path, 'legacy'), { recursive: true }).then(() => join(tmp.path, 'legacy')), 400 * 1024 * 1024, 'big.sar');
    const sub = uniqueName('kill');
    const config: SmbDestinationConfig = peerSmbDestination(sub, 'legacy-smb2');
    const options = { tempDir: tmp.path, legacy: { timeoutMs: 120_000 } };
    const { req, dir } = await killMidUpload('smb-legacy', options, config, join(peers.smb.legacyShareDir, sub), big);
    // The worker script is named worker-<hash>.js below tempDir; the killed process was its only user here.
    await expectEventually(() => processesWith(join(tmp.path, 'pbx-smb2-worker-')).length === 0, { timeoutMs: 5000, message: 'the legacy worker outlived the killed delivery' });
    const partials = await partialsIn(dir);
    expect(await readdir(dir)).toEqual(partials); // nothing was renamed into place by an orphan
    expect(partials).toHaveLength(1);

    await new SmbAdapter(options).deliver(config, { ...req, ...archive, fileName: req.fileName });
    expect(await readdir(dir)).toEqual([req.fileName]);
  });

  it('sftp: the next attempt of the killed delivery removes its partial file', async () => {
    const big = await makeTestArchive(await mkdir(join(tmp.path, 'sftp'), { recursive: true }).then(() => join(tmp.path, 'sftp')), 400 * 1024 * 1024, 'big.sar');
    const sub = uniqueName('kill');
    const config: SftpDestinationConfig = peerSftpDestination(sub);
    const { req, dir } = await killMidUpload('sftp', { readyTimeoutMs: 10_000 }, config, join(peers.sftp.homeDir, sub), big);
    expect(await partialsIn(dir)).toHaveLength(1);

    await new SftpAdapter({ readyTimeoutMs: 10_000 }).deliver(config, { ...req, ...archive, fileName: req.fileName });
    expect(await readdir(dir)).toEqual([req.fileName]);
  });
});

describe('the sweep before each upload: stale partials of ours go, nothing else is touched', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let archive: Awaited<ReturnType<typeof makeTestArchive>>;

  beforeAll(async () => {
    tmp = await tempDir('pbx-sweep-');
    archive = await makeTestArchive(tmp.path, 64 * 1024 + 5);
  });
  afterAll(() => tmp.remove());

  /**
   * Plants, in the folder the delivery writes to: stale partials of ours (another delivery's,
   * and one of the old pattern), a fresh partial of another delivery (a concurrent upload), and
   * stale files that are not ours. Returns what must remain after the delivery.
   */
  async function plant(dir: string, fileName: string, viaSmb?: { port: number; remoteDir: string }): Promise<{ stale: string[]; kept: string[] }> {
    const local = viaSmb ? join(tmp.path, uniqueName('staging')) : dir;
    await mkdir(local, { recursive: true });
    const old = (Date.now() - PARTIAL_STALE_AFTER_MS - 60_000) / 1000;
    const stale = [partialName(fileName, randomUUID()), partialName('Earlier_20261130-013000_0badcafe.sar', randomUUID()), `.${fileName}.partial-a1b2c3d4e5f6`];
    const freshOther = partialName(fileName, randomUUID());
    const foreignOld = ['notes.txt', `.${fileName}.partial-nothex`, '.notes.txt.partial-a1b2c3d4e5f6', `${fileName}.partial-a1b2c3d4e5f6`, 'Earlier_20261130-013000_0badcafe.sar'];
    for (const name of [...stale, freshOther, ...foreignOld]) await writeFile(join(local, name), 'x');
    if (viaSmb) {
      // Files Samba did not create carry no NT ACL of their own, and the legacy library asks for more rights than
      // the POSIX mode grants: put them there through SMB, as our uploads would be.
      const names = [...stale, freshOther, ...foreignOld];
      const commands = [...dirLevels(viaSmb.remoteDir).map((d) => `mkdir "${d}"`), ...names.map((n) => `put "${join(local, n)}" "${viaSmb.remoteDir}/${n}"`)];
      execFileSync('smbclient', [`//${peers.host}/${peers.smb.share}`, '-p', String(viaSmb.port), '-U', `${peers.smb.username}%${peers.smb.password}`, '--use-kerberos=off'], {
        input: `${commands.join('\n')}\nexit\n`,
      });
    }
    for (const name of [...stale, ...foreignOld]) await utimes(join(dir, name), old, old);
    return { stale, kept: [freshOther, ...foreignOld] };
  }

  async function expectSwept(dir: string, fileName: string, planted: { stale: string[]; kept: string[] }): Promise<void> {
    const left = await readdir(dir);
    expect(left.sort()).toEqual([fileName, ...planted.kept].sort());
    expect(await readFile(join(dir, fileName))).toHaveLength(archive.size);
  }

  /** `folder` is created inside a peer's root; the planted files belong to the peer's user (as its uploads would). */
  async function sweepCase(deliver: (req: DeliveryRequest) => Promise<unknown>, folder: string, peerRoot?: string, viaSmbPort?: number): Promise<void> {
    const req: DeliveryRequest = { ...archive, fileName: 'Sweep_20261201-013000_3f2a9c1e.sar', configurationName: uniqueName('sweep'), deliveryId: randomUUID() };
    const dir = join(folder, 'starface-backup', req.configurationName);
    const remoteDir = peerRoot && viaSmbPort ? relative(peerRoot, dir) : undefined;
    const planted = await plant(dir, req.fileName, remoteDir && viaSmbPort ? { port: viaSmbPort, remoteDir } : undefined);
    if (peerRoot) {
      const { uid, gid } = await stat(peerRoot);
      execFileSync('chown', ['-R', '--no-dereference', `${uid}:${gid}`, folder]);
    }
    await deliver(req);
    await expectSwept(dir, req.fileName, planted);
  }

  it('local', async () => {
    const root = join(tmp.path, uniqueName('local'));
    await mkdir(root);
    await sweepCase((req) => new LocalAdapter(root).deliver({ type: 'local' }, req), root);
  });

  it('usb', async () => {
    const usbRoot = join(tmp.path, uniqueName('usb'));
    await mkdir(join(usbRoot, 'stick'), { recursive: true });
    await sweepCase((req) => new UsbAdapter({ usbRoot, allowUnmounted: true }).deliver({ type: 'usb', device: 'stick' }, req), join(usbRoot, 'stick'));
  });

  it('sftp', async () => {
    const sub = uniqueName('sweep');
    const config: SftpDestinationConfig = peerSftpDestination(sub);
    await sweepCase((req) => new SftpAdapter({ readyTimeoutMs: 10_000 }).deliver(config, req), join(peers.sftp.homeDir, sub), peers.sftp.homeDir);
  });

  it('smb (smbclient)', async () => {
    const sub = uniqueName('sweep');
    const config: SmbDestinationConfig = peerSmbDestination(sub);
    await sweepCase((req) => new SmbAdapter({ tempDir: tmp.path }).deliver(config, req), join(peers.smb.shareDir, sub), peers.smb.shareDir);
  });

  it('smb (legacy-smb2)', async () => {
    const sub = uniqueName('sweep');
    const config: SmbDestinationConfig = peerSmbDestination(sub, 'legacy-smb2');
    await sweepCase((req) => new SmbAdapter({ tempDir: tmp.path, legacy: { timeoutMs: 60_000 } }).deliver(config, req), join(peers.smb.legacyShareDir, sub), peers.smb.legacyShareDir, peers.smb.legacyPort);
  });
});

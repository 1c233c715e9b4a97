import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestArchive, tempDir, uniqueName } from '@pbx/testing';
import { DeliveryError } from './delivery';
import { createDestinationRegistry } from './destination-registry';
import { sha256File } from './file-hash';
import { LocalAdapter } from './local.adapter';
import { UsbAdapter } from './usb.adapter';

describe('LocalAdapter (real filesystem)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let root: string;
  let src: Awaited<ReturnType<typeof makeTestArchive>>;

  beforeAll(async () => {
    tmp = await tempDir('pbx-local-');
    root = join(tmp.path, 'root');
    await mkdir(root);
    await mkdir(join(tmp.path, 'src'));
    src = await makeTestArchive(join(tmp.path, 'src'), 3 * 1024 * 1024 + 17, 'backup 2026-11-26.sar');
  });
  afterAll(() => tmp.remove());

  it('writes starface-backup/<name>/<file> with equal sha256, via a partial file, and lists/removes it', async () => {
    const adapter = new LocalAdapter(root);
    const name = `Nightly full ${uniqueName()}`;
    const progress: number[] = [];
    const res = await adapter.deliver({ type: 'local', path: 'pbx' }, { ...src, configurationName: name, onProgress: (n) => progress.push(n) });
    expect(res).toEqual({ location: `starface-backup/${name}/${src.fileName}`, target: `[LOCAL]${join(root, 'pbx')}`, verified: 'size' });
    const landed = join(root, 'pbx', res.location);
    expect(await sha256File(landed)).toBe(src.sha256);
    expect(progress.at(-1)).toBe(src.size);
    // no partial file left behind
    expect(await readdir(join(root, 'pbx/starface-backup', name))).toEqual([src.fileName]);

    expect(await adapter.list({ type: 'local', path: 'pbx' }, name)).toEqual([src.fileName]);
    await adapter.remove({ type: 'local', path: 'pbx' }, name, src.fileName);
    expect(await adapter.list({ type: 'local', path: 'pbx' }, name)).toEqual([]);
    // removing again is not an error (retention may race with a manual delete)
    await adapter.remove({ type: 'local', path: 'pbx' }, name, src.fileName);
  });

  it('checks the size by default without hashing the archive; a size mismatch fails and leaves nothing', async () => {
    const adapter = new LocalAdapter(root);
    const name = uniqueName('size');
    // A wrong expected sha256 goes unnoticed only if the default really skips the hash pass.
    const res = await adapter.deliver({ type: 'local' }, { ...src, sha256: otherSha256(src.sha256), configurationName: name });
    expect(res.verified).toBe('size');
    expect(await sha256File(join(root, res.location))).toBe(src.sha256);

    const short = uniqueName('short');
    await expect(adapter.deliver({ type: 'local' }, { ...src, size: src.size + 1, configurationName: short })).rejects.toMatchObject({ code: 'ioError' });
    expect(await readdir(join(root, 'starface-backup', short))).toEqual([]);
  });

  it("opt-in verify 'sha256' fails on an archive that no longer matches its sha256 and leaves nothing", async () => {
    const adapter = new LocalAdapter(root, { verify: 'sha256' });
    const name = uniqueName('sha');
    const err = await adapter.deliver({ type: 'local' }, { ...src, sha256: otherSha256(src.sha256), configurationName: name }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'ioError', message: expect.stringMatching(/sha256/) });
    expect(await readdir(join(root, 'starface-backup', name))).toEqual([]);

    const ok = await adapter.deliver({ type: 'local' }, { ...src, configurationName: name });
    expect(ok.verified).toBe('sha256');
    expect(await sha256File(join(root, ok.location))).toBe(src.sha256);
  });

  it('the registry passes localVerify to local and usb', async () => {
    const usbRoot = join(tmp.path, 'usb-root');
    await mkdir(join(usbRoot, 'stick'), { recursive: true });
    const options = { localRoot: root, usbRoot, usbAllowUnmounted: true, smtpUrl: 'smtp://x', mailFrom: 'a@b', dropbox: { appKey: 'k' } };
    const bad = { ...src, sha256: otherSha256(src.sha256) };
    const strict = createDestinationRegistry({ ...options, localVerify: 'sha256' });
    await expect(strict.deliver({ type: 'local' }, { ...bad, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'ioError' });
    await expect(strict.deliver({ type: 'usb', device: 'stick' }, { ...bad, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'ioError' });
    const plain = createDestinationRegistry(options);
    expect((await plain.deliver({ type: 'usb', device: 'stick' }, { ...src, configurationName: uniqueName() })).verified).toBe('size');
  });

  it('is idempotent: an identical file counts as delivered, a different one is replaced', async () => {
    const adapter = new LocalAdapter(root);
    const name = uniqueName('idem');
    const first = await adapter.deliver({ type: 'local' }, { ...src, configurationName: name });
    const again = await adapter.deliver({ type: 'local' }, { ...src, configurationName: name });
    expect(again.alreadyPresent).toBe(true);
    const landed = join(root, first.location);
    await writeFile(landed, 'corrupt');
    const replaced = await adapter.deliver({ type: 'local' }, { ...src, configurationName: name });
    expect(replaced.alreadyPresent).toBeUndefined();
    expect(await sha256File(landed)).toBe(src.sha256);
  });

  it.each([['../outside'], ['a/../../outside'], ['/etc']])('refuses path traversal %p', async (path) => {
    const adapter = new LocalAdapter(root);
    const err = await adapter.deliver({ type: 'local', path }, { ...src, configurationName: uniqueName() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'sftpRightProblem', permanent: true });
  });

  it('refuses a symlink that leads outside the root', async () => {
    const outside = join(tmp.path, 'elsewhere');
    await mkdir(outside);
    await symlink(outside, join(root, 'sneaky'));
    const adapter = new LocalAdapter(root);
    await expect(adapter.deliver({ type: 'local', path: 'sneaky' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'sftpRightProblem' });
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses configuration names that are not one path segment', async () => {
    const adapter = new LocalAdapter(root);
    await expect(adapter.deliver({ type: 'local' }, { ...src, configurationName: '../x' })).rejects.toBeInstanceOf(DeliveryError);
  });

  it('test() writes and deletes a probe; a file where a folder belongs reports notFound', async () => {
    const adapter = new LocalAdapter(root);
    const ok = await adapter.test({ type: 'local', path: 'probe-ok' });
    expect(ok.ok).toBe(true);
    expect(await readdir(join(root, 'probe-ok/starface-backup'))).toEqual([]);

    await writeFile(join(root, 'not-a-dir'), 'x');
    expect(await adapter.test({ type: 'local', path: 'not-a-dir' })).toMatchObject({ ok: false, code: 'notFound' });
  });

  it('a read-only filesystem gives sftpRightProblem (permanent)', async () => {
    // root ignores permission bits, so make the kernel refuse: a read-only tmpfs.
    if (!canMount()) throw new Error('mount -t tmpfs is not permitted here; run the integration tier as root');
    const ro = join(root, 'ro');
    await mkdir(ro);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'pbx-test-ro', ro]);
    try {
      const adapter = new LocalAdapter(root);
      await expect(adapter.deliver({ type: 'local', path: 'ro' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({
        code: 'sftpRightProblem',
        permanent: true,
      });
      expect(await adapter.test({ type: 'local', path: 'ro' })).toMatchObject({ ok: false, code: 'sftpRightProblem' });
    } finally {
      execFileSync('umount', [ro]);
    }
  });
});

/** A well-formed sha256 that is not `sha256`. */
function otherSha256(sha256: string): string {
  return (sha256[0] === '0' ? '1' : '0') + sha256.slice(1);
}

function canMount(): boolean {
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

describe('UsbAdapter (real mount point)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let usbRoot: string;
  let mounted = false;
  let src: Awaited<ReturnType<typeof makeTestArchive>>;

  beforeAll(async () => {
    tmp = await tempDir('pbx-usb-');
    usbRoot = join(tmp.path, 'media');
    await mkdir(join(usbRoot, 'stick'), { recursive: true });
    await mkdir(join(usbRoot, 'unplugged'), { recursive: true });
    await mkdir(join(tmp.path, 'src'));
    src = await makeTestArchive(join(tmp.path, 'src'), 1024 * 1024 + 3);
    if (canMount()) {
      // A tmpfs is a real, separate filesystem: exactly what a plugged-in stick looks like.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'pbx-test-usb', join(usbRoot, 'stick')]);
      mounted = true;
    }
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [join(usbRoot, 'stick')]);
    await tmp.remove();
  });

  it('delivers onto a mounted volume', async () => {
    if (!mounted) throw new Error('mount -t tmpfs is not permitted here; run the integration tier as root');
    const adapter = new UsbAdapter({ usbRoot });
    const name = `USB ${uniqueName()}`;
    const res = await adapter.deliver({ type: 'usb', device: 'stick' }, { ...src, configurationName: name });
    expect(res.target).toBe('[USB]stick');
    expect(res.verified).toBe('size');
    expect(await sha256File(join(usbRoot, 'stick', res.location))).toBe(src.sha256);
    expect(await adapter.list({ type: 'usb', device: 'stick' }, name)).toEqual([src.fileName]);
    expect((await adapter.test({ type: 'usb', device: 'stick' })).ok).toBe(true);
  });

  it('refuses an unmounted directory (mountfail, transient) and writes nothing', async () => {
    const adapter = new UsbAdapter({ usbRoot });
    const err = await adapter.deliver({ type: 'usb', device: 'unplugged' }, { ...src, configurationName: uniqueName() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'mountfail', permanent: false });
    expect(await readdir(join(usbRoot, 'unplugged'))).toEqual([]);
    expect(await adapter.test({ type: 'usb', device: 'unplugged' })).toMatchObject({ ok: false, code: 'mountfail' });
  });

  it('reports a missing device as mountfail', async () => {
    const adapter = new UsbAdapter({ usbRoot });
    await expect(adapter.deliver({ type: 'usb', device: 'nope' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'mountfail' });
  });

  it('accepts an unmounted directory when allowUnmounted is set', async () => {
    const adapter = new UsbAdapter({ usbRoot, allowUnmounted: true });
    const res = await adapter.deliver({ type: 'usb', device: 'unplugged' }, { ...src, configurationName: uniqueName() });
    expect((await stat(join(usbRoot, 'unplugged', res.location))).size).toBe(src.size);
    expect(await readFile(join(usbRoot, 'unplugged', res.location))).toHaveLength(src.size);
  });
});

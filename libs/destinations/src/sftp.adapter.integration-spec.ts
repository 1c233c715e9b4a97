import { execFileSync } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestArchive, peers, sftpClientKey, sftpHostKeyFingerprint, tempDir, uniqueName } from '@pbx/testing';
import type { SftpDestinationConfig } from './destination-config';
import { DeliveryError } from './delivery';
import { sha256File } from './file-hash';
import { SftpAdapter } from './sftp.adapter';

/** Against the real OpenSSH sshd of scripts/test-peers.sh (127.0.0.1:2222 by default). */
describe('SftpAdapter (real OpenSSH)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let src: Awaited<ReturnType<typeof makeTestArchive>>;
  const adapter = new SftpAdapter({ readyTimeoutMs: 10_000 });
  let base: SftpDestinationConfig;
  let subdir: string;
  /** The server path of this suite's folder (SFTP paths are absolute, or "." for the login folder). */
  let dir: string;

  beforeAll(async () => {
    tmp = await tempDir('pbx-sftp-');
    src = await makeTestArchive(tmp.path, 5 * 1024 * 1024 + 123, 'backup 2026-11-26.sar');
    subdir = uniqueName('sftp');
    dir = join(peers.sftp.homeDir, subdir);
    base = {
      type: 'sftp',
      host: peers.host,
      port: peers.sftp.port,
      username: peers.sftp.username,
      password: peers.sftp.password,
      path: dir,
      hostKeyFingerprint: sftpHostKeyFingerprint(),
    };
  });
  afterAll(() => tmp.remove());

  it('the pinned fingerprint format matches ssh-keygen -lf', () => {
    const out = execFileSync('ssh-keygen', ['-lf', peers.sftp.hostKeyPath], { encoding: 'utf8' });
    expect(out.split(' ')[1]).toBe(sftpHostKeyFingerprint());
  });

  it('delivers with a password: file lands whole, size verified, sha256 equal; list and remove work', async () => {
    const name = `Nightly full ${uniqueName()}`;
    const progress: number[] = [];
    const res = await adapter.deliver(base, { ...src, configurationName: name, onProgress: (n) => progress.push(n) });
    expect(res).toEqual({
      location: `starface-backup/${name}/${src.fileName}`,
      target: `[SFTP]127.0.0.1:${peers.sftp.port}:${dir}`,
      verified: 'size',
    });
    const landed = join(peers.sftp.homeDir, subdir, res.location);
    expect(await sha256File(landed)).toBe(src.sha256);
    expect(progress.at(-1)).toBe(src.size);
    expect(progress.length).toBeGreaterThan(2);
    expect(await readdir(join(peers.sftp.homeDir, subdir, 'starface-backup', name))).toEqual([src.fileName]);

    expect(await adapter.list(base, name)).toEqual([src.fileName]);
    await adapter.remove(base, name, src.fileName);
    expect(await adapter.list(base, name)).toEqual([]);
    await adapter.remove(base, name, src.fileName); // already gone: fine
    expect(await adapter.list(base, uniqueName('never'))).toEqual([]);
  });

  it('delivers with a private key to an absolute path and replaces an existing file', async () => {
    const name = uniqueName('key');
    const absolute = join(peers.sftp.homeDir, subdir, 'abs');
    const config: SftpDestinationConfig = { ...base, password: undefined, privateKey: sftpClientKey(), path: absolute };
    await adapter.deliver(config, { ...src, configurationName: name });
    const res = await adapter.deliver(config, { ...src, configurationName: name });
    expect(await sha256File(join(absolute, res.location))).toBe(src.sha256);
    expect(await adapter.list(config, name)).toEqual([src.fileName]);
  });

  it('wrong password -> authFailed (permanent)', async () => {
    const err = await adapter.deliver({ ...base, password: 'wrong' }, { ...src, configurationName: uniqueName() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ code: 'authFailed', permanent: true });
    expect(await adapter.test({ ...base, password: 'wrong' })).toMatchObject({ ok: false, code: 'authFailed' });
  });

  it('wrong host key -> hostKeyMismatch, and no file is written', async () => {
    const name = uniqueName('hk');
    const wrong = 'SHA256:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
    await expect(adapter.deliver({ ...base, hostKeyFingerprint: wrong }, { ...src, configurationName: name })).rejects.toMatchObject({
      code: 'hostKeyMismatch',
      permanent: true,
    });
    await expect(stat(join(peers.sftp.homeDir, subdir, 'starface-backup', name))).rejects.toThrow(/ENOENT/);
  });

  it('no pinned host key: deliver refuses, test() reports the fingerprint for trust-on-first-use', async () => {
    const unpinned = { ...base, hostKeyFingerprint: undefined };
    await expect(adapter.deliver(unpinned, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'hostKeyMismatch' });
    const report = await adapter.test(unpinned);
    expect(report).toMatchObject({ ok: false, code: 'hostKeyMismatch', hostKeyFingerprint: sftpHostKeyFingerprint() });
  });

  it('a directory without write permission -> sftpRightProblem', async () => {
    const config = { ...base, path: join(peers.sftp.homeDir, peers.sftp.readOnlyDir) };
    await expect(adapter.deliver(config, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({
      code: 'sftpRightProblem',
      permanent: true,
    });
    expect(await adapter.test(config)).toMatchObject({ ok: false, code: 'sftpRightProblem' });
  });

  it('unreachable port -> mountfail (transient)', async () => {
    await expect(adapter.deliver({ ...base, port: 1 }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({
      code: 'mountfail',
      permanent: false,
    });
  });

  it('test() connects, writes and deletes a probe', async () => {
    const report = await adapter.test(base);
    expect(report.ok).toBe(true);
    expect(report.hostKeyFingerprint).toBe(sftpHostKeyFingerprint());
    expect(report.steps.every((s) => s.ok)).toBe(true);
    expect(await readdir(join(peers.sftp.homeDir, subdir, 'starface-backup'))).not.toContainEqual(expect.stringMatching(/^\.probe-/));
  });

  it('an aborted delivery fails with timeout and leaves no partial file', async () => {
    const big = await makeTestArchive(await mkdir(join(tmp.path, 'big'), { recursive: true }).then(() => join(tmp.path, 'big')), 64 * 1024 * 1024);
    const name = uniqueName('abort');
    const ctl = new AbortController();
    const p = adapter.deliver(base, { ...big, configurationName: name, signal: ctl.signal, onProgress: (n) => n > 0 && ctl.abort() });
    await expect(p).rejects.toMatchObject({ code: 'timeout' });
    const dir = join(peers.sftp.homeDir, subdir, 'starface-backup', name);
    const left = await readdir(dir).catch(() => []);
    expect(left).toEqual([]);
  });
});

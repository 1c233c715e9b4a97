import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestArchive, peers, tempDir, uniqueName } from '@pbx/testing';
import type { SmbDestinationConfig } from './destination-config';
import { sha256File } from './file-hash';
import { HostAllowlist } from './host-allowlist';
import { SmbAdapter } from './smb.adapter';

/** Against the real Samba instances of scripts/test-peers.sh. */
describe('SmbAdapter, smbclient driver (strict Samba: SMB3, signing mandatory, NTLMv2 only)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let src: Awaited<ReturnType<typeof makeTestArchive>>;
  let adapter: SmbAdapter;
  let sub: string;
  let base: SmbDestinationConfig;

  beforeAll(async () => {
    tmp = await tempDir('pbx-smb-');
    src = await makeTestArchive(tmp.path, 9 * 1024 * 1024 + 5, 'backup 2026-11-26.sar');
    adapter = new SmbAdapter({ tempDir: tmp.path });
    sub = uniqueName('smb');
    base = {
      type: 'smb',
      server: peers.host,
      port: peers.smb.port,
      share: `${peers.smb.share}/${sub}/pbx`,
      username: peers.smb.username,
      password: peers.smb.password,
      security: 'ntlmssp',
    };
  });
  afterAll(() => tmp.remove());

  it('delivers over SMB3 with signing: the file lands whole with equal sha256; list and remove work', async () => {
    const name = `Nightly full ${uniqueName()}`;
    const res = await adapter.deliver(base, { ...src, configurationName: name });
    expect(res).toEqual({ location: `starface-backup/${name}/${src.fileName}`, target: `[SMB]//127.0.0.1:${peers.smb.port}/backup/${sub}/pbx`, verified: 'size' });
    const dir = join(peers.smb.shareDir, sub, 'pbx', 'starface-backup', name);
    expect(await readdir(dir)).toEqual([src.fileName]);
    expect(await sha256File(join(dir, src.fileName))).toBe(src.sha256);

    expect(await adapter.list(base, name)).toEqual([src.fileName]);
    await adapter.remove(base, name, src.fileName);
    expect(await adapter.list(base, name)).toEqual([]);
    await adapter.remove(base, name, src.fileName);
    expect(await adapter.list(base, uniqueName('never'))).toEqual([]);
  });

  it('replaces an existing file on redelivery and works with encryption (ntlmssp-encrypt)', async () => {
    const name = uniqueName('enc');
    const config: SmbDestinationConfig = { ...base, security: 'ntlmssp-encrypt' };
    await adapter.deliver(config, { ...src, configurationName: name });
    const res = await adapter.deliver(config, { ...src, configurationName: name });
    const dir = join(peers.smb.shareDir, sub, 'pbx', 'starface-backup', name);
    expect(await readdir(dir)).toEqual([src.fileName]);
    expect(await sha256File(join(peers.smb.shareDir, sub, 'pbx', res.location))).toBe(src.sha256);
  });

  it('reports progress while smbclient uploads', async () => {
    const progress: number[] = [];
    await adapter.deliver(base, { ...src, configurationName: uniqueName('prog'), onProgress: (n) => progress.push(n) });
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(src.size);
  });

  it('wrong password -> authFailed (permanent)', async () => {
    await expect(adapter.deliver({ ...base, password: 'wrong' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({
      code: 'authFailed',
      permanent: true,
    });
    expect(await adapter.test({ ...base, password: 'wrong' })).toMatchObject({ ok: false, code: 'authFailed' });
  });

  it('read-only share -> sftpRightProblem (permanent), nothing written', async () => {
    const config = { ...base, share: peers.smb.readOnlyShare };
    await expect(adapter.deliver(config, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'sftpRightProblem', permanent: true });
    expect(await adapter.test(config)).toMatchObject({ ok: false, code: 'sftpRightProblem' });
  });

  it('unknown share -> notFound; unreachable port -> mountfail (transient)', async () => {
    await expect(adapter.deliver({ ...base, share: 'nosuchshare' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'notFound' });
    await expect(adapter.deliver({ ...base, port: 1 }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'mountfail', permanent: false });
    expect(await adapter.test({ ...base, port: 1 })).toMatchObject({ ok: false, code: 'mountfail' });
  });

  it('the strict server refuses a client that offers NTLMv1 only', async () => {
    const report = await adapter.test({ ...base, security: 'ntlmv1-legacy' });
    expect(report).toMatchObject({ ok: false, code: 'authFailed' });
  });

  it('test() connects, writes and deletes a probe', async () => {
    const report = await adapter.test(base);
    expect(report).toMatchObject({ ok: true });
    expect(await readdir(join(peers.smb.shareDir, sub, 'pbx', 'starface-backup'))).not.toContainEqual(expect.stringMatching(/^\.probe-/));
  });

  it('an aborted upload fails with timeout and leaves no partial file', async () => {
    const big = await makeTestArchive(tmp.path, 300 * 1024 * 1024, 'big.sar');
    const name = uniqueName('abort');
    const ctl = new AbortController();
    const p = adapter.deliver(base, { ...big, configurationName: name, signal: ctl.signal, onProgress: (n) => n > 0 && ctl.abort() });
    await expect(p).rejects.toMatchObject({ code: 'timeout' });
    expect(await readdir(join(peers.smb.shareDir, sub, 'pbx', 'starface-backup', name)).catch(() => [])).toEqual([]);
  });
});

describe('SmbAdapter, legacy-smb2 driver (@marsaud/smb2 against legacy Samba: SMB2_02, NTLMv1)', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let src: Awaited<ReturnType<typeof makeTestArchive>>;
  let adapter: SmbAdapter;
  let sub: string;
  let base: SmbDestinationConfig;

  beforeAll(async () => {
    tmp = await tempDir('pbx-smb2-');
    src = await makeTestArchive(tmp.path, 6 * 1024 * 1024 + 77, 'backup 2026-11-26.sar');
    adapter = new SmbAdapter({ tempDir: tmp.path, legacy: { timeoutMs: 60_000 } });
    sub = uniqueName('legacy');
    base = {
      type: 'smb',
      driver: 'legacy-smb2',
      server: peers.host,
      port: peers.smb.legacyPort,
      share: `${peers.smb.share}/${sub}/a/b`,
      username: peers.smb.username,
      password: peers.smb.password,
      security: 'ntlmv1-legacy',
    };
  });
  afterAll(() => tmp.remove());

  it('delivers through nested new folders, replaces on redelivery, lists and removes', async () => {
    const name = `Nightly full ${uniqueName()}`;
    const progress: number[] = [];
    const res = await adapter.deliver(base, { ...src, configurationName: name, onProgress: (n) => progress.push(n) });
    expect(res.location).toBe(`starface-backup/${name}/${src.fileName}`);
    expect(res.target).toBe(`[SMB]//127.0.0.1:${peers.smb.legacyPort}/backup/${sub}/a/b (legacy SMB2/NTLMv1)`);
    const landed = join(peers.smb.legacyShareDir, sub, 'a/b', res.location);
    expect(await sha256File(landed)).toBe(src.sha256);
    expect(progress.at(-1)).toBe(src.size);

    await adapter.deliver(base, { ...src, configurationName: name });
    expect(await sha256File(landed)).toBe(src.sha256);
    expect(await adapter.list(base, name)).toEqual([src.fileName]);
    await adapter.remove(base, name, src.fileName);
    expect(await adapter.list(base, name)).toEqual([]);
  });

  it('wrong password -> authFailed; unreachable -> mountfail; the caller survives', async () => {
    await expect(adapter.deliver({ ...base, password: 'wrong' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'authFailed' });
    await expect(adapter.deliver({ ...base, port: 1 }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'mountfail' });
    expect((await adapter.test(base)).ok).toBe(true);
  });

  it('against the strict SMB3 server the legacy driver fails cleanly (no crash of the caller)', async () => {
    const report = await adapter.test({ ...base, port: peers.smb.port });
    expect(report.ok).toBe(false);
    expect(report.code).toBeDefined();
  });

  it('refuses to run unless the configuration says ntlmv1-legacy', async () => {
    await expect(adapter.deliver({ ...base, security: 'ntlmssp' }, { ...src, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'authFailed' });
  });
});

describe('SmbAdapter with a host allowlist (real Samba): both drivers dial the checked address', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let src: Awaited<ReturnType<typeof makeTestArchive>>;
  beforeAll(async () => {
    tmp = await tempDir('pbx-smb-hosts-');
    src = await makeTestArchive(tmp.path, 256 * 1024 + 3, 'hosts.sar');
  });
  afterAll(() => tmp.remove());

  const configs: SmbDestinationConfig[] = [
    { type: 'smb', server: 'localhost', port: peers.smb.port, share: peers.smb.share, username: peers.smb.username, password: peers.smb.password, security: 'ntlmssp' },
    { type: 'smb', driver: 'legacy-smb2', server: 'localhost', port: peers.smb.legacyPort, share: peers.smb.share, username: peers.smb.username, password: peers.smb.password, security: 'ntlmv1-legacy' },
  ];

  it.each(configs.map((c) => [c.driver ?? 'smbclient', c] as const))('%s: a name resolving inside the list delivers; outside it is refused', async (_driver, config) => {
    const inside = new SmbAdapter({ tempDir: tmp.path, hosts: HostAllowlist.parse('127.0.0.0/8') });
    const name = uniqueName('hosts');
    // deliver resolves only once the server reported the full size (one connection, checked address).
    await expect(inside.deliver(config, { ...src, configurationName: name })).resolves.toMatchObject({ verified: 'size' });
    await inside.remove(config, name, src.fileName);
    expect(await inside.test(config)).toMatchObject({ ok: true });
    const outside = new SmbAdapter({ tempDir: tmp.path, hosts: HostAllowlist.parse('10.0.0.0/8') });
    expect(await outside.test(config)).toMatchObject({ ok: false, code: 'notFound' });
  });
});

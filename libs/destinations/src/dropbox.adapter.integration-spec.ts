import { stat } from 'node:fs/promises';
import { DropboxFake, makeTestArchive, startDropboxFake, tempDir, uniqueName } from '@pbx/testing';
import type { DropboxDestinationConfig } from './destination-config';
import { DropboxAdapter, exchangeDropboxCode } from './dropbox.adapter';
import { sha256File } from './file-hash';

/** Against the HTTP Dropbox fake from @pbx/testing, driven through the real `dropbox` SDK. */
describe('DropboxAdapter (dropbox SDK against the Dropbox fake)', () => {
  let fake: DropboxFake;
  let tmp: { path: string; remove: () => Promise<void> };
  let small: Awaited<ReturnType<typeof makeTestArchive>>;
  let medium: Awaited<ReturnType<typeof makeTestArchive>>;

  beforeAll(async () => {
    fake = await startDropboxFake();
    tmp = await tempDir('pbx-dropbox-');
    small = await makeTestArchive(tmp.path, 3 * 1024 * 1024 + 1, 'backup 2026-11-26.sar');
    medium = await makeTestArchive(tmp.path, 10 * 1024 * 1024 + 999, 'medium.sar');
  });
  afterAll(async () => {
    await fake.close();
    await tmp.remove();
  });

  const app = () => ({ appKey: fake.appKey, appSecret: fake.appSecret, apiBase: fake.url });

  it('exchanges a one-time authorization code for a refresh token that works; a reused code fails with authFailed', async () => {
    const code = fake.issueAuthorizationCode();
    const refreshToken = await exchangeDropboxCode(code, app());
    expect(refreshToken).toMatch(/^rt\./);
    expect(fake.stats.codeExchanges).toBe(1);
    const adapter = new DropboxAdapter(app());
    expect(await adapter.test({ type: 'dropbox', refreshToken, path: '/t' })).toMatchObject({ ok: true });
    await expect(exchangeDropboxCode(code, app())).rejects.toMatchObject({ code: 'authFailed', permanent: true });
    await expect(exchangeDropboxCode(fake.issueAuthorizationCode(), { ...app(), appSecret: 'wrong' })).rejects.toMatchObject({ code: 'authFailed' });
  });

  it('uploads a small file in one request to starface-backup/<name>/, verified by content_hash; list and remove work', async () => {
    const adapter = new DropboxAdapter(app());
    const config: DropboxDestinationConfig = { type: 'dropbox', refreshToken: fake.issueRefreshToken(), path: '/PBX' };
    const name = `Nightly full ${uniqueName()}`;
    const uploadsBefore = fake.stats.uploads;
    const res = await adapter.deliver(config, { ...small, configurationName: name });
    expect(res).toEqual({ location: `starface-backup/${name}/${small.fileName}`, target: '[DROPBOX]/PBX', verified: 'content_hash' });
    expect(fake.stats.uploads).toBe(uploadsBefore + 1);
    expect(await sha256File(fake.localPath(`/PBX/${res.location}`))).toBe(small.sha256);

    const again = await adapter.deliver(config, { ...small, configurationName: name });
    expect(again.alreadyPresent).toBe(true);
    expect(fake.stats.uploads).toBe(uploadsBefore + 1);

    expect(await adapter.list(config, name)).toEqual([small.fileName]);
    await adapter.remove(config, name, small.fileName);
    expect(await adapter.list(config, name)).toEqual([]);
    await adapter.remove(config, name, small.fileName);
    expect(await adapter.list(config, uniqueName('never'))).toEqual([]);
  });

  it('refreshes an access token the server reports as expired and carries on', async () => {
    const adapter = new DropboxAdapter(app());
    const config: DropboxDestinationConfig = { type: 'dropbox', refreshToken: fake.issueRefreshToken() };
    await adapter.deliver(config, { ...small, configurationName: uniqueName('r1') });
    const refreshes = fake.stats.refreshes;
    const rejections = fake.stats.expiredRejections;
    fake.expireAccessTokens();
    const name = uniqueName('r2');
    const res = await adapter.deliver(config, { ...small, configurationName: name });
    expect(fake.stats.expiredRejections).toBeGreaterThan(rejections);
    expect(fake.stats.refreshes).toBe(refreshes + 1);
    expect(await sha256File(fake.localPath(`/${res.location}`))).toBe(small.sha256);
  });

  it('uses upload sessions above the threshold and resumes at the server offset after incorrect_offset', async () => {
    const adapter = new DropboxAdapter({ ...app(), sessionThresholdBytes: 4 * 1024 * 1024, chunkBytes: 1024 * 1024 });
    const config: DropboxDestinationConfig = { type: 'dropbox', refreshToken: fake.issueRefreshToken(), path: '/sessions' };
    const before = { ...fake.stats };
    fake.failNextAppend(12_345); // the server "loses" the tail of what it had
    const progress: number[] = [];
    const name = uniqueName('sess');
    const res = await adapter.deliver(config, { ...medium, configurationName: name, onProgress: (n) => progress.push(n) });
    expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 1);
    expect(fake.stats.finishes).toBe(before.finishes + 1);
    expect(fake.stats.incorrectOffsets).toBe(before.incorrectOffsets + 1);
    expect(fake.stats.appends - before.appends).toBeGreaterThanOrEqual(10);
    expect(fake.stats.uploads).toBe(before.uploads);
    expect(progress.at(-1)).toBe(medium.size);
    expect(await sha256File(fake.localPath(`/sessions/${res.location}`))).toBe(medium.sha256);
  });

  it('an expired token in the middle of a session is refreshed without restarting the session', async () => {
    const adapter = new DropboxAdapter({ ...app(), sessionThresholdBytes: 1024 * 1024, chunkBytes: 1024 * 1024 });
    const config: DropboxDestinationConfig = { type: 'dropbox', refreshToken: fake.issueRefreshToken() };
    const before = { ...fake.stats };
    let expired = false;
    const res = await adapter.deliver(config, {
      ...medium,
      configurationName: uniqueName('mid'),
      onProgress: (n) => {
        if (!expired && n > 3 * 1024 * 1024) {
          expired = true;
          fake.expireAccessTokens();
        }
      },
    });
    expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 1);
    expect(fake.stats.refreshes).toBe(before.refreshes + 2); // first token + the forced refresh
    expect(await sha256File(fake.localPath(`/${res.location}`))).toBe(medium.sha256);
  });

  it('a real 200 MB archive goes up in sessions (default 150 MB threshold, 8 MiB chunks)', async () => {
    const big = await makeTestArchive(tmp.path, 200 * 1000 * 1000, 'big.sar');
    const adapter = new DropboxAdapter(app());
    const config: DropboxDestinationConfig = { type: 'dropbox', refreshToken: fake.issueRefreshToken() };
    const before = { ...fake.stats };
    const started = Date.now();
    const res = await adapter.deliver(config, { ...big, configurationName: uniqueName('big') });
    const seconds = (Date.now() - started) / 1000;
    expect(fake.stats.uploads).toBe(before.uploads);
    expect(fake.stats.finishes).toBe(before.finishes + 1);
    expect(fake.stats.appends - before.appends).toBe(Math.ceil(big.size / (8 * 1024 * 1024)) - 1);
    const landed = fake.localPath(`/${res.location}`);
    expect((await stat(landed)).size).toBe(big.size);
    expect(await sha256File(landed)).toBe(big.sha256);
    expect(seconds).toBeLessThan(60);
  });

  it('a revoked refresh token -> authFailed (permanent); not connected -> authFailed', async () => {
    const adapter = new DropboxAdapter(app());
    await expect(adapter.deliver({ type: 'dropbox', refreshToken: 'rt.revoked' }, { ...small, configurationName: uniqueName() })).rejects.toMatchObject({
      code: 'authFailed',
      permanent: true,
    });
    await expect(adapter.deliver({ type: 'dropbox', authorizationCode: 'abc' }, { ...small, configurationName: uniqueName() })).rejects.toMatchObject({ code: 'authFailed' });
    expect(await adapter.test({ type: 'dropbox', refreshToken: 'rt.revoked' })).toMatchObject({ ok: false, code: 'authFailed' });
  });

  it('an unreachable API -> mountfail (transient)', async () => {
    const adapter = new DropboxAdapter({ ...app(), apiBase: 'http://127.0.0.1:1' });
    await expect(adapter.deliver({ type: 'dropbox', refreshToken: 'rt.x' }, { ...small, configurationName: uniqueName() })).rejects.toMatchObject({
      code: 'mountfail',
      permanent: false,
    });
  });
});

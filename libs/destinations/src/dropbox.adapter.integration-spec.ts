import { mkdir, stat, writeFile } from 'node:fs/promises';
import { DomainError } from '@pbx/contracts';
import { DropboxFake, expectEventually, makeTestArchive, startDropboxFake, tempDir, uniqueName } from '@pbx/testing';
import type { DropboxDestinationConfig } from './destination-config';
import { DropboxAdapter, DropboxAdapterOptions, dropboxAuthorizeUrl, exchangeDropboxCode } from './dropbox.adapter';
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

  describe('riding out faults the way Dropbox lets a client', () => {
    const MiB = 1024 * 1024;
    /** Small sessions (1 MiB chunks above 4 MiB) and a recorded clock: waits are noted, not waited. */
    function riding(extra: Partial<DropboxAdapterOptions> = {}) {
      const sleeps: number[] = [];
      const adapter = new DropboxAdapter({ ...app(), sessionThresholdBytes: 4 * MiB, chunkBytes: MiB, sleep: async (ms) => void sleeps.push(ms), ...extra });
      const config: DropboxDestinationConfig = { type: 'dropbox', refreshToken: fake.issueRefreshToken(), path: '/faults' };
      return { adapter, config, sleeps };
    }
    const stored = (location: string) => sha256File(fake.localPath(`/faults/${location}`));
    const chunks = () => Math.ceil(medium.size / MiB);

    it('a 429 with Retry-After: 30 mid-session is waited out as asked and the upload completes in the same session', async () => {
      const { adapter, config, sleeps } = riding();
      const before = { ...fake.stats };
      fake.failNext('upload_session/append_v2', { kind: 'rateLimit', retryAfterSeconds: 30 });
      const res = await adapter.deliver(config, { ...medium, configurationName: uniqueName('429') });
      expect(sleeps).toEqual([30_000]);
      expect(fake.stats.rateLimited).toBe(before.rateLimited + 1);
      expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 1);
      expect(fake.stats.bytesStored - before.bytesStored).toBe(medium.size);
      expect(await stored(res.location)).toBe(medium.sha256);
    });

    it('a 429 asking for longer than the attempt may wait ends the attempt at once as transient timeout, the wait in the error', async () => {
      const { adapter, config, sleeps } = riding({ retry: { maxWaitMs: 60_000 } });
      fake.failNext('upload', { kind: 'rateLimit', retryAfterSeconds: 600, reason: 'too_many_write_operations' });
      const err = await adapter.deliver(config, { ...small, configurationName: uniqueName('429long') }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'timeout', permanent: false, retryAfterMs: 600_000 });
      expect((err as Error).message).toMatch(/asked to wait 600 s/);
      expect(sleeps).toEqual([]);
    });

    it('5xx answers back off with jitter and the same chunk is sent again', async () => {
      const { adapter, config, sleeps } = riding();
      const before = { ...fake.stats };
      fake.failNext('upload_session/append_v2', { kind: 'serverError', status: 503 });
      fake.failNext('upload_session/append_v2', { kind: 'serverError', status: 500 });
      const res = await adapter.deliver(config, { ...medium, configurationName: uniqueName('5xx') });
      expect(sleeps).toHaveLength(2);
      expect(sleeps[0]).toBeGreaterThanOrEqual(250);
      expect(sleeps[1]).toBeGreaterThanOrEqual(500);
      expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 1);
      expect(fake.stats.bytesStored - before.bytesStored).toBe(medium.size);
      expect(await stored(res.location)).toBe(medium.sha256);
    });

    it('a connection cut mid-chunk (nothing applied) sends that chunk again in the same session', async () => {
      const { adapter, config, sleeps } = riding();
      const before = { ...fake.stats };
      fake.failNext('upload_session/append_v2', { kind: 'dropConnection', afterBytes: 300_000 });
      const res = await adapter.deliver(config, { ...medium, configurationName: uniqueName('cut') });
      expect(fake.stats.droppedConnections).toBe(before.droppedConnections + 1);
      expect(sleeps).toHaveLength(1);
      expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 1);
      expect(fake.stats.bytesStored - before.bytesStored).toBe(medium.size);
      expect(await stored(res.location)).toBe(medium.sha256);
    });

    it('a cut after the server applied a chunk resumes from its correct_offset: every byte is stored once, only the lost chunk crosses twice', async () => {
      const { adapter, config } = riding();
      const before = { ...fake.stats };
      fake.failNext('upload_session/append_v2', { kind: 'dropConnection', afterApplied: true });
      const res = await adapter.deliver(config, { ...medium, configurationName: uniqueName('lost-answer') });
      expect(fake.stats.incorrectOffsets).toBe(before.incorrectOffsets + 1);
      expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 1);
      expect(fake.stats.bytesStored - before.bytesStored).toBe(medium.size);
      expect(fake.stats.bytesReceived - before.bytesReceived).toBe(medium.size + MiB);
      expect(fake.stats.appends - before.appends).toBe(chunks() - 1);
      expect(await stored(res.location)).toBe(medium.sha256);
    });

    it('an upload session that expired is replaced by a new one and the upload completes', async () => {
      const { adapter, config } = riding();
      const before = { ...fake.stats };
      let expired = false;
      const res = await adapter.deliver(config, {
        ...medium,
        configurationName: uniqueName('expired'),
        onProgress: (n) => {
          if (!expired && n >= 3 * MiB) {
            expired = true;
            fake.expireSessions();
          }
        },
      });
      expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 2);
      expect(fake.stats.finishes).toBe(before.finishes + 1);
      expect(await stored(res.location)).toBe(medium.sha256);
    });

    it('a finish refused with too_many_write_operations is repeated alone: nothing is uploaded again', async () => {
      const { adapter, config, sleeps } = riding();
      const before = { ...fake.stats };
      fake.failNext('upload_session/finish', { kind: 'writeError', reason: 'too_many_write_operations' });
      const res = await adapter.deliver(config, { ...medium, configurationName: uniqueName('finish') });
      expect(sleeps).toHaveLength(1);
      expect(fake.stats.sessionStarts).toBe(before.sessionStarts + 1);
      expect(fake.stats.appends - before.appends).toBe(chunks() - 1);
      expect(fake.stats.finishes).toBe(before.finishes + 1);
      expect(fake.stats.bytesStored - before.bytesStored).toBe(medium.size);
      expect(await stored(res.location)).toBe(medium.sha256);
    });

    it('a folder where the file should go fails at once and for good (409 path/conflict/folder), single upload and session alike', async () => {
      const { adapter, config, sleeps } = riding();
      for (const archive of [small, medium]) {
        const name = uniqueName('folder');
        await mkdir(fake.localPath(`/faults/starface-backup/${name}/${archive.fileName}/older`), { recursive: true });
        const before = { ...fake.stats };
        const err = await adapter.deliver(config, { ...archive, configurationName: name }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'notFound', permanent: true, message: expect.stringContaining('path/conflict/folder') });
        expect(fake.stats.endpointErrors).toBe(before.endpointErrors + 1);
      }
      expect(sleeps).toEqual([]);
    });

    it('a file where a folder belongs, no write permission, a full account and a name Dropbox refuses fail for good with their codes', async () => {
      const { adapter, config, sleeps } = riding();
      const ancestor = uniqueName('ancestor');
      await writeFile(fake.localPath(`/faults/starface-backup/${ancestor}`), 'a file');
      await expect(adapter.deliver(config, { ...small, configurationName: ancestor })).rejects.toMatchObject({ code: 'notFound', permanent: true, message: expect.stringContaining('conflict/file_ancestor') });
      await expect(adapter.deliver(config, { ...small, fileName: 'Thumbs.db', configurationName: uniqueName('name') })).rejects.toMatchObject({ code: 'notFound', permanent: true, message: expect.stringContaining('disallowed_name') });
      fake.denyWrites('/faults/starface-backup');
      try {
        await expect(adapter.deliver(config, { ...small, configurationName: uniqueName('ro') })).rejects.toMatchObject({ code: 'sftpRightProblem', permanent: true });
      } finally {
        fake.denyWrites(null);
      }
      fake.setQuota(1);
      try {
        await expect(adapter.deliver(config, { ...medium, configurationName: uniqueName('full') })).rejects.toMatchObject({ code: 'quotaExceeded', permanent: true, message: expect.stringContaining('insufficient_space') });
      } finally {
        fake.setQuota(null);
      }
      fake.failNext('upload', { kind: 'status', status: 413 });
      await expect(adapter.deliver(config, { ...small, configurationName: uniqueName('413') })).rejects.toMatchObject({ code: 'quotaExceeded', permanent: true });
      expect(sleeps).toEqual([]);
    });

    it('a chunk above what Dropbox takes in one request (409 payload_too_large) fails for good', async () => {
      const strict = await startDropboxFake({ maxRequestBytes: 512 * 1024 });
      try {
        const adapter = new DropboxAdapter({ appKey: strict.appKey, appSecret: strict.appSecret, apiBase: strict.url, sessionThresholdBytes: 4 * MiB, chunkBytes: MiB });
        await expect(adapter.deliver({ type: 'dropbox', refreshToken: strict.issueRefreshToken() }, { ...medium, configurationName: uniqueName('ptl') })).rejects.toMatchObject({
          code: 'quotaExceeded',
          permanent: true,
          message: expect.stringContaining('payload_too_large'),
        });
      } finally {
        await strict.close();
      }
    });

    it('a name with non-ASCII characters ("Sicherung Müller") is delivered under its exact name', async () => {
      const { adapter, config } = riding();
      const name = `Sicherung Müller ${uniqueName()}`;
      for (const archive of [small, medium]) {
        const res = await adapter.deliver(config, { ...archive, fileName: `Größe ${archive.fileName}`, configurationName: name });
        expect(res.location).toBe(`starface-backup/${name}/Größe ${archive.fileName}`);
        expect(await stored(res.location)).toBe(archive.sha256);
      }
      expect(await adapter.list(config, name)).toEqual([`Größe ${medium.fileName}`, `Größe ${small.fileName}`].sort());
    });

    it('a request on which nothing moves for requestTimeoutMs is torn down and repeated', async () => {
      const { adapter, config, sleeps } = riding({ requestTimeoutMs: 300 });
      const before = { ...fake.stats };
      fake.failNext('upload', { kind: 'stall' });
      const res = await adapter.deliver(config, { ...small, configurationName: uniqueName('stall') });
      expect(fake.stats.stalls).toBe(before.stalls + 1);
      expect(sleeps).toHaveLength(1);
      expect(await stored(res.location)).toBe(small.sha256);
    });

    it('the request timeout holds on a reused connection too (not the shorter keep-alive hint of the server)', async () => {
      const hinting = await startDropboxFake({ keepAliveTimeoutMs: 2000 }); // Node clients then time pooled sockets out after 1 s
      try {
        const sleeps: number[] = [];
        const adapter = new DropboxAdapter({ appKey: hinting.appKey, appSecret: hinting.appSecret, apiBase: hinting.url, requestTimeoutMs: 10_000, sleep: async (ms) => void sleeps.push(ms) });
        hinting.failNext('upload', { kind: 'slow', ms: 1500 });
        const res = await adapter.deliver({ type: 'dropbox', refreshToken: hinting.issueRefreshToken() }, { ...small, configurationName: uniqueName('slow') });
        expect(sleeps).toEqual([]);
        expect(hinting.stats.uploads).toBe(1);
        expect(await sha256File(hinting.localPath(`/${res.location}`))).toBe(small.sha256);
      } finally {
        await hinting.close();
      }
    });

    it('the abort signal reaches the request in flight', async () => {
      const { adapter, config } = riding({ requestTimeoutMs: 600_000 });
      const before = { ...fake.stats };
      fake.failNext('upload', { kind: 'stall' });
      const abort = new AbortController();
      const delivery = adapter.deliver(config, { ...small, configurationName: uniqueName('abort'), signal: abort.signal });
      await expectEventually(() => fake.stats.stalls > before.stalls);
      abort.abort();
      await expect(delivery).rejects.toMatchObject({ code: 'timeout', permanent: false });
    });
  });

  describe('connecting an app', () => {
    it('builds the authorize URL: the code flow with token_access_type=offline for this app key', async () => {
      const url = new URL(await dropboxAuthorizeUrl({ appKey: 'abc123', appSecret: 's' }));
      expect(url.protocol).toBe('https:');
      expect(url.hostname).toMatch(/^(www\.)?dropbox\.com$/);
      expect(url.pathname).toBe('/oauth2/authorize');
      expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: 'abc123', token_access_type: 'offline' });
    });

    it('without DROPBOX_APP_SECRET the URL and the code exchange fail naming the missing setting, before Dropbox is asked', async () => {
      const exchanges = fake.stats.codeExchanges;
      await expect(dropboxAuthorizeUrl({ appKey: 'abc123' })).rejects.toThrow(DomainError);
      await expect(dropboxAuthorizeUrl({ appKey: 'abc123' })).rejects.toThrow(/DROPBOX_APP_SECRET is not set/);
      await expect(exchangeDropboxCode(fake.issueAuthorizationCode(), { ...app(), appSecret: undefined })).rejects.toThrow(/Dropbox is not set up on this server: DROPBOX_APP_SECRET is not set/);
      expect(fake.stats.codeExchanges).toBe(exchanges);
    });
  });
});

import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestArchive, peerS3Destination, peers, s3rverObjectPath, tempDir, uniqueName } from '@pbx/testing';
import { CONNECT_FAILED, DeliveryError, isObjectLocked } from './delivery';
import type { S3DestinationConfig } from './destination-config';
import { createDestinationRegistry, type DestinationRegistry } from './destination-registry';
import { HOST_NOT_ALLOWED, HostAllowlist } from './host-allowlist';
import { sha256File } from './file-hash';
import { allowlistLookup, RETAIN_UNTIL_META, S3Adapter, type S3AdapterOptions } from './s3.adapter';

const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;

interface Sent {
  command: string;
  method: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
}

/** An adapter whose clients record every request the SDK sends (s3rver ignores Object Lock and AbortMultipartUpload). */
function recordingAdapter(options: S3AdapterOptions = {}): { adapter: S3Adapter; sent: Sent[] } {
  const sent: Sent[] = [];
  const adapter = new S3Adapter({
    partSize: 5 * MiB,
    ...options,
    onClient: (client) => {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const request = args.request as { method: string; query: Record<string, unknown>; headers: Record<string, string> };
          sent.push({ command: context.commandName ?? '', method: request.method, query: { ...request.query }, headers: { ...request.headers } });
          return next(args);
        },
        { step: 'finalizeRequest', name: 'recordRequests', priority: 'low' },
      );
      options.onClient?.(client);
    },
  });
  return { adapter, sent };
}

async function deliveryError(p: Promise<unknown>): Promise<DeliveryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

describe('s3 adapter against s3rver', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  let big: Awaited<ReturnType<typeof makeTestArchive>>;
  let small: Awaited<ReturnType<typeof makeTestArchive>>;
  let registry: DestinationRegistry;

  beforeAll(async () => {
    tmp = await tempDir('pbx-s3dest-');
    big = await makeTestArchive(tmp.path, 11 * MiB + 17, 'Nightly_20261201-013000.sar');
    small = await makeTestArchive(tmp.path, 70_000, 'Small_20261201-013000.sar');
    registry = createDestinationRegistry({
      localRoot: join(tmp.path, 'local'), usbRoot: join(tmp.path, 'usb'), smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'x@example.test', dropbox: { appKey: 'k' },
      s3: { partSize: 5 * MiB },
    });
  });
  afterAll(() => tmp.remove());

  const config = (over: Partial<S3DestinationConfig> = {}): S3DestinationConfig => ({ ...peerS3Destination(uniqueName('pfx')), ...over });

  it('multipart upload to <prefix>/starface-backup/<name>/<file>, listed, read back (sha256, copyTo), a flipped byte seen, removed', async () => {
    const { adapter, sent } = recordingAdapter();
    const cfg = config({ prefix: `${uniqueName('site')}/pbx` });
    const name = uniqueName('Nightly');
    const progress: number[] = [];
    const started = Date.now() - 2000;
    const result = await adapter.deliver(cfg, { ...big, configurationName: name, onProgress: (b) => progress.push(b) });
    expect(result).toEqual({ location: `starface-backup/${name}/${big.fileName}`, target: `[S3]127.0.0.1/${peers.s3.bucket}/${cfg.prefix}`, verified: 'size' });
    // Three parts of ≤ 5 MiB, then one completed object (the file on s3rver's disk).
    expect(sent.filter((s) => s.command === 'UploadPartCommand')).toHaveLength(3);
    expect(sent.map((s) => s.command)).toEqual(expect.arrayContaining(['CreateMultipartUploadCommand', 'CompleteMultipartUploadCommand']));
    expect(progress.at(-1)).toBe(big.size);
    const onDisk = s3rverObjectPath(`${cfg.prefix}/starface-backup/${name}/${big.fileName}`);
    expect((await stat(onDisk)).size).toBe(big.size);
    expect(await sha256File(onDisk)).toBe(big.sha256);

    const listed = await adapter.listDetailed(cfg, name);
    expect(listed).toEqual([{ name: big.fileName, size: big.size, modifiedAt: expect.any(Date) }]);
    expect(listed[0]!.modifiedAt!.getTime()).toBeGreaterThanOrEqual(started - 60_000);
    expect(await adapter.hash(cfg, name, big.fileName)).toEqual({ state: 'stored', sha256: big.sha256, size: big.size });
    const copy = join(tmp.path, `${uniqueName('copy')}.sar`);
    expect(await adapter.hash(cfg, name, big.fileName, { copyTo: copy })).toEqual({ state: 'stored', sha256: big.sha256, size: big.size });
    expect(await sha256File(copy)).toBe(big.sha256);

    const fh = await open(onDisk, 'r+');
    // Flipped, not overwritten: the archive is random, the byte there may already be any value.
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 6 * MiB + 1);
    await fh.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 6 * MiB + 1);
    await fh.close();
    const flipped = await adapter.hash(cfg, name, big.fileName);
    expect(flipped).toMatchObject({ state: 'stored', size: big.size });
    expect((flipped as { sha256: string }).sha256).not.toBe(big.sha256);

    await adapter.remove(cfg, name, big.fileName);
    await adapter.remove(cfg, name, big.fileName); // gone already: fine
    expect(await adapter.hash(cfg, name, big.fileName)).toEqual({ state: 'missing' });
    expect(await adapter.list(cfg, name)).toEqual([]);
  }, 60_000);

  it('a small archive is one PutObject; storageClass is sent; the listing shows only the folder\'s own objects', async () => {
    const { adapter, sent } = recordingAdapter();
    const cfg = config({ storageClass: 'STANDARD_IA' });
    const name = uniqueName('Small');
    await adapter.deliver(cfg, { ...small, configurationName: name });
    await adapter.deliver(cfg, { ...small, fileName: 'other.sar', configurationName: `${name}x` });
    const put = sent.find((s) => s.command === 'PutObjectCommand')!;
    expect(put.headers['x-amz-storage-class']).toBe('STANDARD_IA');
    expect(put.headers['x-amz-object-lock-mode']).toBeUndefined();
    expect(await adapter.list(cfg, name)).toEqual([small.fileName]);
  });

  it('through the registry: maxUploadBytesPerSecond paces the upload', async () => {
    const cfg = config({ maxUploadBytesPerSecond: 1 * MiB });
    const archive = await makeTestArchive(tmp.path, 3 * MiB, 'Paced_20261201-013000.sar');
    const t0 = performance.now();
    await registry.deliver(cfg, { ...archive, configurationName: 'Paced' });
    const seconds = (performance.now() - t0) / 1000;
    // 3 MiB at 1 MiB/s, the first burst (1/20 s) free: at least ~2.9 s.
    expect(seconds).toBeGreaterThan(2.8);
    expect(seconds).toBeLessThan(8);
    expect(await registry.hash(cfg, 'Paced', archive.fileName)).toMatchObject({ state: 'stored', sha256: archive.sha256 });
  }, 30_000);

  it('an aborted upload is aborted on the service (AbortMultipartUpload for its upload id): no object appears', async () => {
    const { adapter, sent } = recordingAdapter({ queueSize: 1 });
    const cfg = config({ maxUploadBytesPerSecond: 4 * MiB });
    const name = uniqueName('Aborted');
    const abort = new AbortController();
    const err = await deliveryError(
      adapter.deliver(cfg, {
        ...big,
        configurationName: name,
        signal: abort.signal,
        // After the first part went out: a multipart upload is open on the service.
        onProgress: (bytes) => bytes >= 5 * MiB && abort.abort(),
      }),
    );
    expect(err).toMatchObject({ code: 'timeout', permanent: false });
    const created = sent.find((s) => s.command === 'CreateMultipartUploadCommand');
    expect(created).toBeDefined();
    const uploadIds = sent.filter((s) => s.command === 'UploadPartCommand').map((s) => s.query.uploadId);
    const aborted = sent.filter((s) => s.command === 'AbortMultipartUploadCommand');
    expect(aborted).toEqual([expect.objectContaining({ method: 'DELETE', query: expect.objectContaining({ uploadId: uploadIds[0] }) })]);
    expect(sent.map((s) => s.command)).not.toContain('CompleteMultipartUploadCommand');
    expect(await adapter.list(cfg, name)).toEqual([]);
    expect(await adapter.hash(cfg, name, big.fileName)).toEqual({ state: 'missing' });
  }, 30_000);

  describe('objectLockDays', () => {
    const now = new Date('2026-12-01T02:00:00Z');

    it('every upload request carries COMPLIANCE and the retain-until date (and a checksum, as S3 wants for locked objects)', async () => {
      const { adapter, sent } = recordingAdapter({ now: () => now });
      const cfg = config({ objectLockDays: 30 });
      const until = new Date(now.getTime() + 30 * DAY_MS).toISOString();
      await adapter.deliver(cfg, { ...big, configurationName: 'Locked' });
      await adapter.deliver(cfg, { ...small, configurationName: 'Locked' });
      const create = sent.find((s) => s.command === 'CreateMultipartUploadCommand')!;
      const put = sent.find((s) => s.command === 'PutObjectCommand')!;
      for (const req of [create, put]) {
        expect(req.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
        expect(new Date(req.headers['x-amz-object-lock-retain-until-date']).toISOString()).toBe(until);
        expect(req.headers[`x-amz-meta-${RETAIN_UNTIL_META}`]).toBe(until);
      }
      expect(put.headers['x-amz-checksum-crc32']).toMatch(/\S/);
      for (const part of sent.filter((s) => s.command === 'UploadPartCommand')) expect(part.headers['x-amz-checksum-crc32']).toMatch(/\S/);
      expect(await adapter.hash(cfg, 'Locked', big.fileName)).toMatchObject({ state: 'stored', sha256: big.sha256 });
    }, 30_000);

    it('a copy still locked is not deleted (ObjectLockedError with its date); once the date passed it is', async () => {
      let clock = now;
      const { adapter, sent } = recordingAdapter({ now: () => clock });
      const cfg = config({ objectLockDays: 7 });
      await adapter.deliver(cfg, { ...small, configurationName: 'Locked' });
      const err = await adapter.remove(cfg, 'Locked', small.fileName).catch((e: unknown) => e);
      expect(isObjectLocked(err)).toBe(true);
      expect(err).toMatchObject({ retainUntil: new Date(now.getTime() + 7 * DAY_MS) });
      expect(sent.map((s) => s.command)).not.toContain('DeleteObjectCommand');
      expect(await adapter.list(cfg, 'Locked')).toEqual([small.fileName]);
      // Without objectLockDays now (the setting changed): the object's own date still rules.
      await expect(adapter.remove({ ...cfg, objectLockDays: undefined }, 'Locked', small.fileName)).rejects.toMatchObject({ name: 'ObjectLockedError' });
      clock = new Date(now.getTime() + 7 * DAY_MS + 1000);
      await adapter.remove(cfg, 'Locked', small.fileName);
      expect(await adapter.list(cfg, 'Locked')).toEqual([]);
    });

    it('the retain-until date the service reports (HeadObject x-amz-object-lock-retain-until-date) rules too, and the version read is deleted', async () => {
      const until = new Date(Date.now() + DAY_MS);
      let lockHeader = true;
      const { adapter, sent } = recordingAdapter({
        // s3rver knows no Object Lock: answer as S3 does for a locked object version.
        onClient: (client) =>
          client.middlewareStack.add(
            (next, context) => async (args) => {
              const out = await next(args);
              const response = out.response as { headers: Record<string, string> };
              if (context.commandName === 'HeadObjectCommand' && lockHeader) {
                response.headers['x-amz-object-lock-mode'] = 'COMPLIANCE';
                response.headers['x-amz-object-lock-retain-until-date'] = until.toISOString();
              }
              if (context.commandName === 'HeadObjectCommand') response.headers['x-amz-version-id'] = 'v1';
              return out;
            },
            { step: 'deserialize', name: 'lockedHead', priority: 'low' },
          ),
      });
      const cfg = config();
      await adapter.deliver(cfg, { ...small, configurationName: 'ServiceLock' });
      await expect(adapter.remove(cfg, 'ServiceLock', small.fileName)).rejects.toMatchObject({ name: 'ObjectLockedError', retainUntil: until });
      lockHeader = false;
      await adapter.remove(cfg, 'ServiceLock', small.fileName).catch(() => undefined); // s3rver knows no version v1
      expect(sent.filter((s) => s.command === 'DeleteObjectCommand').map((s) => s.query.versionId)).toEqual(['v1']);
    });
  });

  describe('test()', () => {
    it('connects, writes and deletes a probe object; no probe is left', async () => {
      const cfg = config();
      const report = await registry.test(cfg);
      expect(report).toEqual({ ok: true, steps: [{ step: 'connect', ok: true, detail: `bucket ${peers.s3.bucket}` }, { step: 'write probe object', ok: true }, { step: 'delete probe object', ok: true }] });
    });

    it.each([
      ['a wrong access key id', { accessKeyId: 'NOBODY' }, 'authFailed'],
      ['a bucket that does not exist', { bucket: 'no-such-bucket-here' }, 'notFound'],
    ] as const)('%s → %s', async (_what, over, code) => {
      const report = await registry.test(config(over));
      expect(report).toMatchObject({ ok: false, code, steps: [{ step: 'connect', ok: false }] });
    });

    it('a closed port → mountfail with the one CONNECT_FAILED message', async () => {
      const closed = createTcpServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const report = await registry.test(config({ endpoint: `http://127.0.0.1:${port}` }));
      expect(report).toMatchObject({ ok: false, code: 'mountfail', steps: [{ step: 'connect', ok: false, detail: CONNECT_FAILED }] });
    });
  });

  describe('timeouts (DESTINATION_IDLE_TIMEOUT_MS)', () => {
    let silent: ReturnType<typeof createTcpServer>;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      // Accepts and never answers: the request fails once nothing moved for the idle time.
      silent = createTcpServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    });
    afterAll(async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    });

    it('a server that never answers → timeout (transient)', async () => {
      const reg = createDestinationRegistry({ localRoot: '/x', usbRoot: '/x', smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'x@example.test', dropbox: { appKey: 'k' }, timeouts: { connectMs: 1000, idleMs: 400 } });
      const cfg = config({ endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
      const t0 = Date.now();
      const err = await deliveryError(reg.deliver(cfg, { ...small, configurationName: 'Silent' }));
      expect(err).toMatchObject({ code: 'timeout', permanent: false });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect((await reg.test(cfg)).code).toBe('timeout');
    }, 30_000);
  });

  describe('DESTINATION_HOSTS_ALLOWED', () => {
    const outside = HostAllowlist.parse('10.0.0.0/8');
    const reg = (hosts: HostAllowlist) =>
      createDestinationRegistry({ localRoot: '/x', usbRoot: '/x', smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'x@example.test', dropbox: { appKey: 'k' }, hosts });

    it('an endpoint outside the list is refused (notFound, permanent) before anything is sent', async () => {
      const { adapter, sent } = recordingAdapter({ hosts: outside });
      for (const endpoint of [peers.s3.endpoint, peers.s3.endpoint.replace('127.0.0.1', 'localhost')]) {
        const err = await deliveryError(adapter.deliver(config({ endpoint }), { ...small, configurationName: 'Refused' }));
        expect(err).toMatchObject({ code: 'notFound', permanent: true, message: `the destination host ${HOST_NOT_ALLOWED}` });
        expect(await reg(outside).test(config({ endpoint }))).toMatchObject({ ok: false, code: 'notFound' });
      }
      expect(sent).toEqual([]);
      // Inside the list: delivered.
      await reg(HostAllowlist.parse('127.0.0.0/8,::1')).deliver(config({ endpoint: peers.s3.endpoint.replace('127.0.0.1', 'localhost') }), { ...small, configurationName: 'Allowed' });
    });

    it('the address actually dialled is judged: each name the client resolves (e.g. <bucket>.<endpoint> virtual-hosted) must be allowed', async () => {
      const resolve = (lookup: ReturnType<typeof allowlistLookup>, host: string) =>
        new Promise<unknown>((done) => lookup(host, { all: true }, (err, addresses) => done(err ?? addresses)));
      // A name not listed: judged by its addresses.
      expect(await resolve(allowlistLookup(outside, 'localhost'), 'localhost')).toMatchObject({ code: 'notFound', message: `the destination host ${HOST_NOT_ALLOWED}` });
      expect(await resolve(allowlistLookup(HostAllowlist.parse('127.0.0.0/8,::1'), 'localhost'), 'localhost')).toEqual(expect.arrayContaining([expect.objectContaining({ address: '127.0.0.1' })]));
      // The endpoint's name listed: it and its sub-domains are trusted; another name is not.
      const listed = allowlistLookup(HostAllowlist.parse('localhost'), 'localhost');
      expect(await resolve(listed, 'localhost')).toEqual(expect.any(Array));
      expect(await resolve(allowlistLookup(HostAllowlist.parse('example.invalid'), 'example.invalid'), 'localhost')).toMatchObject({ code: 'notFound' });
    });
  });

  describe('fault table through the SDK: a server answering S3 errors', () => {
    let server: Server;
    let answer = { status: 500, code: 'InternalError' };
    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(answer.status, { 'content-type': 'application/xml', 'x-amz-request-id': 'r1' });
          res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${answer.code}</Code><Message>${answer.code} from the fake</Message><RequestId>r1</RequestId></Error>`);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise((r) => server.close(r)));

    it.each([
      [403, 'InvalidAccessKeyId', 'authFailed', true],
      [403, 'SignatureDoesNotMatch', 'authFailed', true],
      [403, 'AccessDenied', 'authFailed', true],
      [404, 'NoSuchBucket', 'notFound', true],
      [403, 'QuotaExceeded', 'quotaExceeded', true],
      [400, 'EntityTooLarge', 'quotaExceeded', true],
      [400, 'InvalidRequest', 'ioError', true],
      [400, 'RequestTimeout', 'timeout', false],
      [503, 'SlowDown', 'ioError', false],
    ] as const)('%s %s → %s (permanent %s)', async (status, code, expected, permanent) => {
      answer = { status, code };
      const cfg = config({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const err = await deliveryError(registry.deliver(cfg, { ...small, configurationName: 'Faults' }));
      expect(err).toMatchObject({ code: expected, permanent });
      expect(err.message).toContain(code);
    }, 30_000);
  });
});

import { describe, expect, it } from '@jest/globals';
import { uploadFile, type UploadTransport } from './upload';

/** The api's upload rules in memory: a piece must start at the bytes received so far. */
function fakeApi(opts: { failPutNumber?: number } = {}) {
  let received = 0;
  let size = 0;
  let puts = 0;
  const calls: string[] = [];
  const body = () => ({ uploadId: 'u1', url: '/api/v1/uploads/u1', size, received, complete: received === size, expiresAt: '2030-01-01T00:00:00Z' });
  const ok = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });
  const transport: UploadTransport = {
    sleep: async () => undefined,
    async fetch(path, init) {
      calls.push(`${init.method} ${path}${init.headers?.['Content-Range'] ? ` ${init.headers['Content-Range']}` : ''}`);
      if (init.method === 'POST') {
        size = (JSON.parse(String(init.body)) as { size: number }).size;
        return ok(body(), 201);
      }
      if (init.method === 'GET') return path.endsWith('/u1') ? ok(body()) : new Response('{}', { status: 404 });
      puts += 1;
      const [, first, last] = /bytes (\d+)-(\d+)\//.exec(init.headers?.['Content-Range'] ?? '') ?? [];
      if (Number(first) !== received) return ok({ title: 'offset' }, 409);
      const bytes = (init.body as Blob).size;
      if (puts === opts.failPutNumber) {
        // The connection broke half-way: half of the piece reached the disk.
        received += Math.floor(bytes / 2);
        throw new TypeError('network error');
      }
      expect(Number(last) - Number(first) + 1).toBe(bytes);
      received += bytes;
      return ok(body());
    },
  };
  return { transport, calls, state: () => ({ received, size }) };
}

describe('uploadFile', () => {
  it('sends the file in Content-Range pieces, with progress', async () => {
    const api = fakeApi();
    const seen: number[] = [];
    const done = await uploadFile(new Blob([new Uint8Array(25)]), api.transport, { chunkBytes: 10, onProgress: (p) => seen.push(p.received) });
    expect(done).toEqual({ uploadId: 'u1', received: 25, size: 25 });
    expect(api.calls).toEqual(['POST /api/v1/uploads', 'PUT /api/v1/uploads/u1 bytes 0-9/25', 'PUT /api/v1/uploads/u1 bytes 10-19/25', 'PUT /api/v1/uploads/u1 bytes 20-24/25']);
    expect(seen).toEqual([0, 10, 20, 25]);
  });

  it('after a broken piece continues at the offset the api reports, not where it thought it was', async () => {
    const api = fakeApi({ failPutNumber: 2 });
    const done = await uploadFile(new Blob([new Uint8Array(30)]), api.transport, { chunkBytes: 10 });
    expect(done.received).toBe(30);
    expect(api.calls).toEqual([
      'POST /api/v1/uploads',
      'PUT /api/v1/uploads/u1 bytes 0-9/30',
      'PUT /api/v1/uploads/u1 bytes 10-19/30',
      'GET /api/v1/uploads/u1',
      'PUT /api/v1/uploads/u1 bytes 15-24/30',
      'PUT /api/v1/uploads/u1 bytes 25-29/30',
    ]);
  });

  it('resumes an upload started earlier (a reload) from its Upload-Offset', async () => {
    const api = fakeApi({ failPutNumber: 1 });
    await expect(uploadFile(new Blob([new Uint8Array(20)]), { ...api.transport, fetch: (p, i) => (i.method === 'GET' ? Promise.reject(new Error('offline')) : api.transport.fetch(p, i)) }, { chunkBytes: 20 })).rejects.toThrow();
    expect(api.state().received).toBe(10);
    const calls = api.calls.length;
    const done = await uploadFile(new Blob([new Uint8Array(20)]), api.transport, { chunkBytes: 20, resume: 'u1' });
    expect(done.received).toBe(20);
    expect(api.calls.slice(calls)).toEqual(['GET /api/v1/uploads/u1', 'PUT /api/v1/uploads/u1 bytes 10-19/20']);
  });
});

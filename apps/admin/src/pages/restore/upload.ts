import type { Schemas } from '../../api/client';

type Upload = Schemas['Upload'];

/** 8 MiB per PUT: progress moves often enough, and a broken connection loses at most one piece. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
/** Consecutive failed pieces before giving up (each retry asks the api where to continue). */
const MAX_RETRIES = 4;

export interface UploadTransport {
  /** fetch with the bearer token (the api's PUT takes raw bytes, which openapi-fetch does not send). */
  fetch(path: string, init: { method: string; headers?: Record<string, string>; body?: Blob | string; signal?: AbortSignal }): Promise<Response>;
  /** Waits before a retry (tests pass a no-op). */
  sleep(ms: number): Promise<void>;
}

export interface UploadProgress {
  uploadId: string;
  received: number;
  size: number;
}

export class UploadFailedError extends Error {
  constructor(
    message: string,
    readonly uploadId: string | null,
  ) {
    super(message);
  }
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) {
    const problem = (await res.json().catch(() => ({}))) as { detail?: string; title?: string };
    throw new Error(problem.detail ?? problem.title ?? `HTTP ${res.status}`);
  }
  return (await res.json()) as T;
}

/**
 * Sends a file for a restore: POST /api/v1/uploads, then PUT pieces with Content-Range, each at
 * the offset the api reported. With `resume` (an upload started earlier for the same file) it
 * continues where the api's Upload-Offset says; a broken piece asks GET /uploads/:id and goes on.
 */
export async function uploadFile(
  file: Blob,
  transport: UploadTransport,
  opts: { resume?: string | null; chunkBytes?: number; signal?: AbortSignal; onProgress?(p: UploadProgress): void; onStarted?(uploadId: string): void } = {},
): Promise<UploadProgress> {
  const size = file.size;
  const chunk = opts.chunkBytes ?? CHUNK_BYTES;
  let upload: Upload | null = null;
  if (opts.resume) {
    const res = await transport.fetch(`/api/v1/uploads/${encodeURIComponent(opts.resume)}`, { method: 'GET', signal: opts.signal });
    // Expired or unknown: start again.
    if (res.ok) upload = (await res.json()) as Upload;
    if (upload && upload.size !== null && upload.size !== size) upload = null;
  }
  if (!upload) {
    upload = await json<Upload>(await transport.fetch('/api/v1/uploads', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ size }), signal: opts.signal }));
  }
  const { uploadId, url } = upload;
  opts.onStarted?.(uploadId);
  let received = upload.received;
  opts.onProgress?.({ uploadId, received, size });
  let failures = 0;
  while (received < size) {
    const end = Math.min(size, received + chunk);
    try {
      const res = await transport.fetch(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${received}-${end - 1}/${size}` },
        body: file.slice(received, end),
        signal: opts.signal,
      });
      if (res.status === 409 || res.status >= 500) throw new Error(`HTTP ${res.status}`);
      received = (await json<Upload>(res)).received;
      failures = 0;
    } catch (err) {
      if (opts.signal?.aborted) throw new UploadFailedError('cancelled', uploadId);
      failures += 1;
      if (failures > MAX_RETRIES) throw new UploadFailedError((err as Error).message, uploadId);
      await transport.sleep(500 * 2 ** (failures - 1));
      // Whatever reached the disk stays: continue at the api's offset, not ours.
      const state = await transport.fetch(`/api/v1/uploads/${encodeURIComponent(uploadId)}`, { method: 'GET', signal: opts.signal }).then((r) => (r.ok ? (r.json() as Promise<Upload>) : null), () => null);
      if (state) received = state.received;
    }
    opts.onProgress?.({ uploadId, received, size });
  }
  return { uploadId, received, size };
}

/** An upload in progress per file (name, size, time), so a reload or a retry resumes it. */
export const resumeStore = {
  key: (f: { name: string; size: number; lastModified: number }) => `pbx-upload:${f.name}:${f.size}:${f.lastModified}`,
  get(f: { name: string; size: number; lastModified: number }): string | null {
    return sessionStorage.getItem(this.key(f));
  },
  set(f: { name: string; size: number; lastModified: number }, uploadId: string): void {
    sessionStorage.setItem(this.key(f), uploadId);
  },
};

/** age files start with their version line, whatever their name. */
export async function looksEncrypted(file: Blob & { name?: string }): Promise<boolean> {
  if (file.name?.endsWith('.age')) return true;
  const head = await file.slice(0, 21).text();
  return head === 'age-encryption.org/v1';
}

import type { Readable } from 'node:stream';
import { DomainError, ERROR_CODES } from '@pbx/contracts';
import { notFound } from '../common/ids';
import type { UploadMeta, UploadStore } from '@pbx/ops';

export interface UploadResponse {
  uploadId: string;
  /** PUT the file here (whole, or in Content-Range pieces). */
  url: string;
  size: number | null;
  received: number;
  complete: boolean;
  expiresAt: string;
}

/** `Content-Range: bytes <first>-<last>/<total|*>` or `bytes *\/<total>` (asks for the state, no body). */
export type ContentRange = { first: number; last: number; total: number | null } | { first: null; total: number };

export function parseContentRange(header: string | undefined): ContentRange | null | 'invalid' {
  if (header === undefined) return null;
  const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(header.trim());
  if (!m) return 'invalid';
  const total = m[3] === '*' ? null : Number(m[3]);
  if (m[1] === undefined) return total === null ? 'invalid' : { first: null, total };
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (last < first || (total !== null && last >= total)) return 'invalid';
  return { first, last, total };
}

/**
 * Archives uploaded for a restore: created, filled by one PUT of the whole file (`curl -T`) or
 * by PUTs of consecutive byte ranges, resumed after a broken connection from the offset the
 * server reports (GET/HEAD or the PUT's answer), and removed when they expire.
 */
export class UploadsService {
  /** One writer per upload in this process: a second PUT meanwhile would interleave bytes. */
  private readonly writing = new Set<string>();

  constructor(
    private readonly store: UploadStore,
    private readonly ttlMs: number,
  ) {}

  async create(size: number | null): Promise<UploadResponse> {
    return this.response(await this.store.create(size, this.ttlMs), 0);
  }

  async get(id: string): Promise<UploadResponse> {
    const meta = await this.existing(id);
    return this.response(meta, await this.store.received(meta));
  }

  async put(id: string, rangeHeader: string | undefined, body: Readable): Promise<UploadResponse> {
    const meta = await this.existing(id);
    const range = parseContentRange(rangeHeader);
    if (range === 'invalid') throw new DomainError(ERROR_CODES.validation, 'Content-Range must be "bytes <first>-<last>/<total or *>" or "bytes */<total>"', [{ field: 'Content-Range', message: 'is malformed' }]);
    if (meta.completedAt) throw new DomainError(ERROR_CODES.conflict, `upload ${id} is complete already`);
    const received = await this.store.received(meta);
    const total = range?.total ?? meta.size;
    if (total !== null && meta.size !== null && total !== meta.size) {
      throw new DomainError(ERROR_CODES.conflict, `upload ${id} was announced with ${meta.size} bytes, not ${total}`);
    }
    if (range && range.first === null) return this.finishIfWhole({ ...meta, size: total }, received);
    if (range && range.first !== received) {
      throw new DomainError(ERROR_CODES.conflict, `upload ${id} continues at byte ${received}, not ${range.first}`, [], { received });
    }
    if (this.writing.has(id)) throw new DomainError(ERROR_CODES.conflict, `upload ${id} is being written by another request`);
    this.writing.add(id);
    try {
      await this.store.write(id, range ? range.first : 0, body, range === null);
    } finally {
      this.writing.delete(id);
    }
    const now = await this.store.received(meta);
    // Without a range the body was the whole file: its size is the total.
    return this.finishIfWhole({ ...meta, size: range ? total : (meta.size ?? now) }, now);
  }

  /**
   * Checks that an upload is finished, for a restore naming it; answers its key in the artifact
   * store. An upload this replica has no record of (its pieces went to another api host) counts
   * when its archive is in the store: only the expiry removes it from there.
   */
  async finishedArchive(id: string): Promise<string> {
    const meta = await this.store.find(id);
    if (!meta) {
      const stored = await this.store.stored(id);
      if (!stored) throw notFound('upload');
      return stored.key;
    }
    if (new Date(meta.expiresAt) <= new Date()) throw notFound('upload');
    if (!meta.completedAt) throw new DomainError(ERROR_CODES.notReady, `upload ${id} is not complete yet`);
    const stored = await this.store.stored(id);
    if (!stored) throw new DomainError(ERROR_CODES.gone, `the archive of upload ${id} is no longer in the artifact store`);
    return stored.key;
  }

  private async finishIfWhole(meta: UploadMeta, received: number): Promise<UploadResponse> {
    if (meta.size !== null && received > meta.size) throw new DomainError(ERROR_CODES.conflict, `upload ${meta.id} has ${received} bytes, more than the ${meta.size} announced`);
    if (meta.size !== null && received === meta.size) return this.response(await this.completing(meta.id, () => this.store.complete(meta)), received);
    if (meta.size !== null) await this.store.save(meta);
    return this.response(meta, received);
  }

  /** Into the artifact store once (s3: a multipart upload the last PUT waits for); a second request meanwhile is told to ask again. */
  private async completing(id: string, work: () => Promise<UploadMeta>): Promise<UploadMeta> {
    if (this.writing.has(id)) throw new DomainError(ERROR_CODES.conflict, `upload ${id} is being written by another request`);
    this.writing.add(id);
    try {
      return await work();
    } finally {
      this.writing.delete(id);
    }
  }

  private async existing(id: string): Promise<UploadMeta> {
    const meta = await this.store.find(id);
    if (!meta || new Date(meta.expiresAt) <= new Date()) throw notFound('upload');
    return meta;
  }

  private response(meta: UploadMeta, received: number): UploadResponse {
    return { uploadId: meta.id, url: `/api/v1/uploads/${meta.id}`, size: meta.size, received, complete: meta.completedAt !== null, expiresAt: meta.expiresAt };
  }
}

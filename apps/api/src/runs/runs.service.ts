import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { ArtifactStore, ByteRange } from '@pbx/artifacts';
import { DomainError, ERROR_CODES, isFinalRunStatus } from '@pbx/contracts';
import { stagedArtifactOf } from '@pbx/destinations';
import type { DeliveryEntity } from '@pbx/persistence';
import { notFound } from '../common/ids';
import { offsetOf, pageOf, type Page } from '../common/pagination';
import type { RunsQuery } from '../common/validation';
import { contentDisposition, parseRange } from './byte-range';
import { toRunResponse, type RunResponse } from './run.mapper';
import type { RunCancelRepository } from './run-cancel.repository';
import type { RunVerificationRepository } from './run-verification.repository';
import { RunsQueryRepository } from './runs.query.repository';

export type Download =
  | { status: 200 | 206; headers: Record<string, string>; open: () => Readable }
  | { status: 416; size: number };

/** Run history and artifact downloads. */
export class RunsService {
  constructor(
    private readonly repository: RunsQueryRepository,
    private readonly artifacts: ArtifactStore,
    private readonly verification: RunVerificationRepository,
    private readonly cancels: RunCancelRepository,
  ) {}

  async list(q: RunsQuery): Promise<Page<RunResponse>> {
    const [runs, total] = await this.repository.list(q, offsetOf(q));
    const deliveries = await this.repository.deliveriesOf(runs.map((r) => r.id));
    const byRun = new Map<string, DeliveryEntity[]>();
    for (const d of deliveries) byRun.set(d.runId, [...(byRun.get(d.runId) ?? []), d]);
    return pageOf(runs.map((r) => toRunResponse(r, byRun.get(r.id) ?? [])), total, q);
  }

  async get(id: string): Promise<RunResponse> {
    const run = await this.repository.findById(id);
    if (!run) throw notFound('run');
    return toRunResponse(run, await this.repository.deliveriesOf([id]));
  }

  /**
   * Queues a read-back of every stored copy of the run (the dispatcher holds the adapters);
   * the results land on the run's deliveries. 409 while nothing was delivered yet.
   */
  async verify(id: string): Promise<RunResponse> {
    const run = await this.repository.findById(id);
    if (!run) throw notFound('run');
    if (!run.artifactSha256 || (await this.verification.storedCopies(id)) === 0) {
      throw new DomainError(ERROR_CODES.notReady, `run ${id} is ${run.status}: it has no delivered copy to verify`);
    }
    await this.verification.request(id);
    return toRunResponse(run, await this.repository.deliveriesOf([id]));
  }

  /**
   * Cancels a run that is not final: queued or deferred, it never starts; packing or
   * dispatching, its worker stops at the next safe point (copies delivered by then stay).
   * Idempotent for a cancelled run; 409 `run_finished` for any other final run.
   */
  async cancel(id: string): Promise<RunResponse> {
    const result = await this.cancels.cancel(id);
    if (result.outcome === 'notFound') throw notFound('run');
    if (result.outcome === 'tooLate') {
      const why = isFinalRunStatus(result.status) ? `it is ${result.status} already` : 'every destination has answered and the archived items are being deleted';
      throw new DomainError(ERROR_CODES.runFinished, `run ${id} cannot be cancelled: ${why}`, [], { runStatus: result.status });
    }
    return this.get(id);
  }

  /** The artifact of a packed run: 409 before packing, 410 once it was cleaned up. */
  async download(id: string, rangeHeader: string | undefined): Promise<Download> {
    const run = await this.repository.findById(id);
    if (!run) throw notFound('run');
    if (!run.packedAt && !run.artifactFileName) {
      throw new DomainError(ERROR_CODES.notReady, `run ${id} is ${run.status}: its archive is not packed yet`);
    }
    if (run.artifactRemovedAt) throw gone(id);
    const key = stagedArtifactOf(run.id, run.artifactFileName);
    const info = await this.artifacts.stat(key);
    if (!info) throw gone(id);
    const size = info.size;
    // Streamed from the store as the client reads (s3: one GET with the client's range).
    const open = (r?: ByteRange): Readable => {
      const out = new PassThrough();
      this.artifacts.read(key, r).then(
        (body) => pipeline(body, out, () => undefined),
        (err: unknown) => out.destroy(err as Error),
      );
      return out;
    };
    const range = parseRange(rangeHeader, size);
    if (range.kind === 'unsatisfiable') return { status: 416, size };
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': contentDisposition(run.artifactFileName ?? `${run.id}.sar`),
      'Accept-Ranges': 'bytes',
      ...(run.packedAt ? { 'Last-Modified': run.packedAt.toUTCString() } : {}),
    };
    if (run.artifactSha256) headers['X-Checksum-Sha256'] = run.artifactSha256;
    if (range.kind === 'full') {
      return { status: 200, headers: { ...headers, 'Content-Length': String(size) }, open: () => open() };
    }
    const { start, end } = range.range;
    return {
      status: 206,
      headers: { ...headers, 'Content-Length': String(end - start + 1), 'Content-Range': `bytes ${start}-${end}/${size}` },
      open: () => open({ start, end }),
    };
  }
}

const gone = (id: string) => new DomainError(ERROR_CODES.gone, `the archive of run ${id} was cleaned up (downloads are kept for a limited time)`);

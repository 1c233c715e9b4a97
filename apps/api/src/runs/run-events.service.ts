import { isFinalRunStatus } from '@pbx/contracts';
import type { DeliveryEntity, RunEntity } from '@pbx/persistence';
import { notFound } from '../common/ids';
import { eventsOf, RunEventDiff, type RunEvent } from './run-events';
import type { RunEventsHub } from './run-events.hub';
import type { RunsQueryRepository } from './runs.query.repository';

/** Where one watcher's events go: an HTTP response as text/event-stream (the controller builds it). */
export interface RunEventSink {
  /** Status line and headers, sent at once (before the first event). */
  open(): void;
  write(chunk: string): void;
  end(): void;
  /** The client went away (or the response ended). */
  onClose(listener: () => void): void;
}

export interface RunEventsOptions {
  /** A comment line this often keeps proxies and browsers from closing an idle stream. */
  heartbeatMs: number;
  /** What EventSource-style clients wait before reconnecting. */
  retryMs: number;
}

export const RUN_EVENTS_DEFAULTS: RunEventsOptions = { heartbeatMs: 15_000, retryMs: 3_000 };

/**
 * Live run state for the admin UI: the current snapshot first (also after a reconnect, so
 * Last-Event-ID needs no replay), then each change as RunLifecycle's NOTIFY reports it, and
 * the end after the final status. Progress comes from the throttled writes of the packer and
 * the dispatcher, so this only reads Postgres.
 */
export class RunEventsService {
  constructor(
    private readonly repository: Pick<RunsQueryRepository, 'findById' | 'deliveriesOf'>,
    private readonly hub: Pick<RunEventsHub, 'watch'>,
    private readonly options: RunEventsOptions = RUN_EVENTS_DEFAULTS,
  ) {}

  /** 404 (before anything is sent) for an unknown run; otherwise streams until final or closed. */
  async stream(runId: string, sink: RunEventSink): Promise<void> {
    if (!(await this.repository.findById(runId))) throw notFound('run');
    new RunEventStream(runId, sink, () => this.load(runId), this.hub, this.options).start();
  }

  private async load(runId: string): Promise<{ run: RunEntity; deliveries: DeliveryEntity[] } | null> {
    const run = await this.repository.findById(runId);
    return run ? { run, deliveries: await this.repository.deliveriesOf([runId]) } : null;
  }
}

/** One open stream: reads the run again on each wake-up (one at a time) and sends what changed. */
class RunEventStream {
  private readonly diff = new RunEventDiff();
  private nextId = 1;
  private closed = false;
  private reading?: Promise<void>;
  private again = false;
  private unwatch?: () => void;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly runId: string,
    private readonly sink: RunEventSink,
    private readonly load: () => Promise<{ run: RunEntity; deliveries: DeliveryEntity[] } | null>,
    private readonly hub: Pick<RunEventsHub, 'watch'>,
    private readonly options: RunEventsOptions,
  ) {}

  start(): void {
    this.sink.onClose(() => this.close());
    this.sink.open();
    this.sink.write(`retry: ${this.options.retryMs}\n\n`);
    // Watch before the first read: a change between the two is then not missed.
    this.unwatch = this.hub.watch(this.runId, { changed: () => this.refresh(), shutdown: () => this.close() });
    // The heartbeat also reads again: a NOTIFY lost while the LISTEN connection was down costs at most this long.
    this.heartbeat = setInterval(() => {
      this.send(': heartbeat\n\n');
      this.refresh();
    }, this.options.heartbeatMs);
    this.refresh();
  }

  private refresh(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.read()
      .catch(() => this.close()) // the database went away: the client reconnects and gets a snapshot
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private async read(): Promise<void> {
    const state = await this.load();
    if (this.closed) return;
    if (!state) return this.close();
    for (const e of this.diff.changed(eventsOf(state.run, state.deliveries))) this.emit(e);
    if (isFinalRunStatus(state.run.status)) this.close();
  }

  private emit(e: RunEvent): void {
    this.send(`id: ${this.nextId++}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
  }

  private send(chunk: string): void {
    if (!this.closed) this.sink.write(chunk);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.unwatch?.();
    this.sink.end();
  }
}

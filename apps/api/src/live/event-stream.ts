import type { ChangeHub } from './change-hub';

/** Where one watcher's events go: an HTTP response as text/event-stream (eventStreamSink builds it). */
export interface EventSink {
  /** Status line and headers, sent at once (before the first event). */
  open(): void;
  write(chunk: string): void;
  end(): void;
  /** The client went away (or the response ended). */
  onClose(listener: () => void): void;
}

export interface EventStreamOptions {
  /** A comment line this often keeps proxies and browsers from closing an idle stream. */
  heartbeatMs: number;
  /** What EventSource-style clients wait before reconnecting. */
  retryMs: number;
}

export const EVENT_STREAM_DEFAULTS: EventStreamOptions = { heartbeatMs: 15_000, retryMs: 3_000 };

/** One server-sent event; `key` names what it describes (a later event with the same key replaces it). */
export interface KeyedEvent {
  event: string;
  key: string;
  data: unknown;
}

/**
 * Remembers what one watcher was sent and answers only what changed since (all of it the
 * first time: a new or reconnecting client starts from the current state).
 */
export class EventDiff<E extends KeyedEvent = KeyedEvent> {
  private readonly sent = new Map<string, string>();

  changed(events: readonly E[]): E[] {
    return events.filter((e) => {
      const json = JSON.stringify(e.data);
      if (this.sent.get(e.key) === json) return false;
      this.sent.set(e.key, json);
      return true;
    });
  }
}

/** What one kind of live row streams: how to read it, its events, and when it is over. */
export interface EventSource<S> {
  /** The row's current state; null when it is gone. */
  load(): Promise<S | null>;
  /** The state as events, in the order to send them. */
  eventsOf(state: S): KeyedEvent[];
  /** After this state nothing changes: the stream ends. */
  isFinal(state: S): boolean;
}

/**
 * One open stream: the current snapshot first (also after a reconnect, so Last-Event-ID needs
 * no replay), then what changed on each wake-up of the hub (one read at a time), and the end
 * after the final state.
 */
export function openEventStream<S>(id: string, sink: EventSink, source: EventSource<S>, hub: Pick<ChangeHub, 'watch'>, options: EventStreamOptions): void {
  new EventStream(id, sink, source, hub, options).start();
}

class EventStream<S> {
  private readonly diff = new EventDiff();
  private nextId = 1;
  private closed = false;
  private reading?: Promise<void>;
  private again = false;
  private unwatch?: () => void;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly id: string,
    private readonly sink: EventSink,
    private readonly source: EventSource<S>,
    private readonly hub: Pick<ChangeHub, 'watch'>,
    private readonly options: EventStreamOptions,
  ) {}

  start(): void {
    this.sink.onClose(() => this.close());
    this.sink.open();
    this.sink.write(`retry: ${this.options.retryMs}\n\n`);
    // Watch before the first read: a change between the two is then not missed.
    this.unwatch = this.hub.watch(this.id, { changed: () => this.refresh(), shutdown: () => this.close() });
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
    const state = await this.source.load();
    if (this.closed) return;
    if (state === null) return this.close();
    for (const e of this.diff.changed(this.source.eventsOf(state))) this.emit(e);
    if (this.source.isFinal(state)) this.close();
  }

  private emit(e: KeyedEvent): void {
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

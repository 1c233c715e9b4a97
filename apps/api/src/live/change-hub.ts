import { PgListener } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';

export interface Watcher {
  changed(): void;
  shutdown(): void;
}

export interface ChangeHubOptions {
  databaseUrl: string;
  /** The NOTIFY channel, e.g. runEventsChannel(DATABASE_SCHEMA); the payload is a row id. */
  channel: string;
  /** Names the LISTEN connection in pg_stat_activity. */
  applicationName: string;
}

/**
 * One LISTEN connection per api process and channel for every watched row (its one writer
 * NOTIFYs the row id). It is opened when the first watcher comes and closed when the last one
 * goes, so an api nobody watches holds no extra connection.
 */
export class ChangeHub {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private listener?: PgListener;
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly options: ChangeHubOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * `changed` whenever the row may have changed (and after each (re)connect); `shutdown` when
   * the api stops (open streams must end, or the HTTP server waits for them). Returns the unwatch.
   */
  watch(id: string, watcher: Watcher): () => void {
    const set = this.watchers.get(id) ?? new Set();
    set.add(watcher);
    this.watchers.set(id, set);
    this.listener ??= this.startListener();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      set.delete(watcher);
      if (!set.size) this.watchers.delete(id);
      if (!this.watchers.size) this.stopListener();
    };
  }

  /** Nest calls it before the HTTP server closes. */
  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  /** Watchers registered (tests: a closed stream leaves none). */
  get watcherCount(): number {
    let n = 0;
    for (const set of this.watchers.values()) n += set.size;
    return n;
  }

  /** A LISTEN connection is open or opening. */
  get isActive(): boolean {
    return this.listener !== undefined;
  }

  get isListening(): boolean {
    return this.listener?.isListening ?? false;
  }

  async close(): Promise<void> {
    for (const set of [...this.watchers.values()]) for (const w of [...set]) w.shutdown();
    this.watchers.clear();
    this.stopListener();
    await Promise.all([...this.stopping]);
  }

  private startListener(): PgListener {
    const listener = new PgListener(
      { databaseUrl: this.options.databaseUrl, channel: this.options.channel, applicationName: this.options.applicationName, onNotify: (id) => this.notify(id) },
      this.logger,
    );
    listener.start();
    return listener;
  }

  private stopListener(): void {
    const listener = this.listener;
    if (!listener) return;
    this.listener = undefined;
    // A new watcher meanwhile gets a new connection; this one closes in the background.
    const stopped = listener.stop().finally(() => this.stopping.delete(stopped));
    this.stopping.add(stopped);
  }

  /** A row id: its watchers. No payload (LISTEN just took effect): everyone, a change may have been missed. */
  private notify(id?: string): void {
    const targets = id ? [this.watchers.get(id)] : [...this.watchers.values()];
    for (const set of targets) for (const w of [...(set ?? [])]) w.changed();
  }
}

import { Client } from 'pg';
import type { Logger } from '@pbx/observability';

export interface PgListenerOptions {
  databaseUrl: string;
  channel: string;
  /** application_name of the connection (seen in pg_stat_activity). */
  applicationName: string;
  /**
   * Every NOTIFY (with its payload), and once without one after each LISTEN took effect:
   * changes may have been missed meanwhile.
   */
  onNotify: (payload?: string) => void;
  /** Pause after the connection ended, failed or was declined. */
  reconnectDelayMs?: number;
  /** Asked before connecting; false waits a reconnect delay (e.g. no broker, so no use listening). */
  mayListen?: () => boolean;
  /**
   * Asked once connected, before LISTEN (e.g. take a session advisory lock so that one
   * replica listens); false closes the connection and tries again after the delay.
   */
  claim?: (client: Client) => Promise<boolean>;
}

/** While listening, how often mayListen() is asked again: a false hands the connection back. */
const RECHECK_MS = 1000;
/** A connection attempt that has not answered by then counts as failed (and stop() never waits longer). */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * LISTEN on a dedicated connection (a pooled one would lose the subscription), reconnecting
 * for as long as it runs. Callers poll as well, so a NOTIFY lost while it is down only delays.
 */
export class PgListener {
  private running = false;
  private loop?: Promise<void>;
  private listening = false;
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly options: PgListenerOptions,
    private readonly logger: Logger,
  ) {}

  /** LISTEN is in effect on a live connection. */
  get isListening(): boolean {
    return this.listening;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Wakes the loop, which ends its connection itself once connect() has settled: pg's end()
   * called while a connection is still being opened can wait forever (seen: 1 stop in 30).
   */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of [...this.sleepers]) wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    const log = { channel: this.options.channel };
    while (this.running) {
      if (this.options.mayListen && !this.options.mayListen()) {
        await this.pause();
        continue;
      }
      const client = new Client({ connectionString: this.options.databaseUrl, application_name: this.options.applicationName, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      const closed = new Promise<void>((resolve) => {
        client.on('error', (err) => {
          if (this.running) this.logger.warn({ ...log, err: err.message }, 'LISTEN connection lost; reconnecting');
          resolve();
        });
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        if (this.running && (!this.options.claim || (await this.options.claim(client)))) {
          client.on('notification', (n) => this.options.onNotify(n.payload || undefined));
          await client.query(`LISTEN "${this.options.channel}"`);
          this.listening = true;
          this.options.onNotify();
          await this.until(closed);
        }
      } catch (err) {
        if (this.running) this.logger.warn({ ...log, err: err instanceof Error ? err.message : err }, 'LISTEN connection failed; polling until it is back');
      }
      this.listening = false;
      await client.end().catch(() => undefined); // ends the session, and any session lock with it
      await this.pause();
    }
  }

  /** Until the connection closes, stop() is called, or mayListen() says no more. */
  private until(closed: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const recheck = setInterval(() => {
        if (!this.running || (this.options.mayListen && !this.options.mayListen())) done();
      }, RECHECK_MS);
      const done = (): void => {
        clearInterval(recheck);
        this.sleepers.delete(done);
        resolve();
      };
      this.sleepers.add(done); // stop() wakes it at once
      if (!this.running) done();
      void closed.then(done);
    });
  }

  /** The reconnect delay; stop() cuts it short. */
  private pause(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.running) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.options.reconnectDelayMs ?? 1000);
      this.sleepers.add(done);
    });
  }
}

import { Client } from 'pg';
import type { Logger } from '@pbx/observability';

export interface ScheduleListenerOptions {
  databaseUrl: string;
  channel: string;
  /** Called on every NOTIFY, and after (re)connecting, since changes may have been missed meanwhile. */
  onWake: () => void;
  reconnectDelayMs?: number;
}

/**
 * A dedicated LISTEN connection (a pooled one would lose the subscription). It reconnects
 * forever; while it is down the scheduler still wakes up every SCHEDULER_MAX_SLEEP_MS.
 */
export class ScheduleListener {
  private running = false;
  private client?: Client;
  private loop?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private retryResolve?: () => void;
  private listening = false;

  constructor(
    private readonly options: ScheduleListenerOptions,
    private readonly logger: Logger,
  ) {}

  get isListening(): boolean {
    return this.listening;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.listen();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryResolve?.();
    await this.client?.end().catch(() => undefined);
    await this.loop;
  }

  private async listen(): Promise<void> {
    while (this.running) {
      const client = new Client({ connectionString: this.options.databaseUrl, application_name: 'pbx-backup-scheduler-listen' });
      this.client = client;
      const closed = new Promise<void>((resolve) => {
        client.on('error', (err) => {
          this.logger.warn({ err: err.message }, 'schedule LISTEN connection lost; reconnecting');
          resolve();
        });
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', () => this.options.onWake());
        await client.query(`LISTEN "${this.options.channel}"`);
        this.listening = true;
        this.options.onWake();
        await closed;
      } catch (err) {
        if (this.running) this.logger.warn({ err: err instanceof Error ? err.message : err }, 'schedule LISTEN connection failed; polling until it is back');
      }
      this.listening = false;
      await client.end().catch(() => undefined);
      if (this.running) {
        await new Promise<void>((resolve) => {
          this.retryResolve = resolve;
          this.retryTimer = setTimeout(resolve, this.options.reconnectDelayMs ?? 1000);
        });
      }
    }
  }
}

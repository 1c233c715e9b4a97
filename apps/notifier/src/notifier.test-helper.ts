import type { INestApplication } from '@nestjs/common';
import type { AppEnv } from '@pbx/config';
import { AmqpConnection, MessagePublisher, type republishDeadLetter } from '@pbx/messaging';
import type { Logger } from '@pbx/observability';
import { startApp } from '@pbx/runtime';
import { amqpNamespace, deleteAmqpNamespace, expectEventually, migratedDatabase, peers, testEnv } from '@pbx/testing';
import { NotifierModule } from './notifier.module';

/** The admin's address in links the notifier writes (PUBLIC_URL). */
export const PUBLIC_URL = 'https://pbx.example.test';

/** A row of dead_letters as the replay specs read it. */
export interface DeadLetterRow {
  id: string;
  queue: string;
  message_id: string;
  type: string | null;
  correlation_id: string | null;
  body: string;
  reason: string;
  attempts: number;
}

/**
 * What a notifier integration spec shares across its tests: one migrated schema, the notifier's
 * environment on it (the SMTP sink, prefetch 1) and notifiers booted with it. Call at the top
 * of the file: it registers the schema's hooks.
 */
export interface NotifierTestBed {
  readonly db: Awaited<ReturnType<typeof migratedDatabase>>;
  /** The environment on the bed's schema and `namespace`: the spec's defaults, then `extra`. */
  env(namespace: string, extra?: Record<string, string>): AppEnv;
  boot(env: AppEnv): Promise<INestApplication>;
  /** True once a notifier handled the message (its inbox row is written with the handling). */
  inboxHas(messageId: string): Promise<boolean>;
  /** Waits for the message's dead letter; `replay` is what republishDeadLetter takes. */
  deadLetter(messageId: string, options?: { timeoutMs?: number }): Promise<{ letter: DeadLetterRow; replay: Parameters<typeof republishDeadLetter>[1] }>;
  /**
   * For a describe: a notifier on a broker namespace of its own, booted before its tests and
   * closed (namespace deleted) after them.
   */
  running(): { readonly app: INestApplication; readonly publisher: MessagePublisher; readonly namespace: string };
}

export function notifierTestBed(prefix: string, options: { logger: Logger; env?: Record<string, string> }): NotifierTestBed {
  let db: NotifierTestBed['db'] | undefined;
  beforeAll(async () => {
    db = await migratedDatabase(prefix);
  });
  afterAll(async () => {
    await db?.close();
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('notifierTestBed: used outside a test');
    return value;
  };

  const bed: NotifierTestBed = {
    get db() {
      return need(db);
    },
    env(namespace, extra = {}) {
      return testEnv({
        DATABASE_SCHEMA: bed.db.schema,
        AMQP_NAMESPACE: namespace,
        // One message at a time: a sentinel message handled means everything before it was handled.
        AMQP_PREFETCH: '1',
        SMTP_URL: peers.smtp.url,
        MAIL_FROM: 'pbx-backup <backup@pbx.example.test>',
        PUBLIC_URL,
        STALENESS_CHECK_MS: '3600000',
        ...options.env,
        ...extra,
      });
    },
    boot(env) {
      return startApp({ service: 'notifier', env, logger: options.logger, module: NotifierModule.forRoot(env, options.logger), queues: ['notifier.events.v1'], port: 0 });
    },
    async inboxHas(messageId) {
      const rows: unknown[] = await bed.db.dataSource.query('SELECT 1 FROM inbox WHERE message_id = $1', [messageId]);
      return rows.length > 0;
    },
    async deadLetter(messageId, { timeoutMs } = {}) {
      const [letter] = await expectEventually(async () => {
        const rows: DeadLetterRow[] = await bed.db.dataSource.query('SELECT * FROM dead_letters WHERE message_id = $1', [messageId]);
        return rows.length ? rows : null;
      }, { timeoutMs });
      const replay = { id: letter.id, queue: letter.queue, messageId: letter.message_id, type: letter.type, correlationId: letter.correlation_id, body: letter.body };
      return { letter, replay };
    },
    running() {
      // Filled in by beforeAll, before any test of the describe reads it.
      const running = {} as { app: INestApplication; publisher: MessagePublisher; namespace: string };
      beforeAll(async () => {
        running.namespace = amqpNamespace();
        running.app = await bed.boot(bed.env(running.namespace));
        running.publisher = new MessagePublisher(running.app.get(AmqpConnection));
      });
      afterAll(async () => {
        await running.app?.close();
        if (running.namespace) await deleteAmqpNamespace(running.namespace);
      });
      return running;
    },
  };
  return bed;
}

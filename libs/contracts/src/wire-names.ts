/**
 * Wire names: exchanges, queues and routing keys as they exist on the broker.
 *
 * DO NOT RENAME any of these literals without a migration plan: they are the names
 * messages already in flight, retry queues and dead letters are filed under. A new
 * shape of a message gets a new version (and a new routing key suffix), never a rename.
 */
export const EXCHANGES = {
  /** Topic exchange every domain event is published to. */
  events: 'pbx.events.v1',
  /** Direct exchange dead letters go to; each consumer queue's `.dlq` is bound by queue name. */
  deadLetters: 'pbx.dlx.v1',
} as const;

/** Consumer groups: one durable queue each, shared by every replica of that app. */
export const QUEUES = {
  packerJobs: 'packer.jobs.v1',
  dispatcherPacked: 'dispatcher.packed.v1',
  dispatcherDeliver: 'dispatcher.deliver.v1',
  notifierEvents: 'notifier.events.v1',
  archiverFinalize: 'archiver.finalize.v1',
  /** Progress events no app acts on, kept (bounded) for ops to tap; no consumer required. */
  audit: 'audit.events.v1',
} as const;

/** Bounded queues: the oldest messages are dropped past this length. */
export const AUDIT_QUEUE_MAX_LENGTH = 10_000;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Suffix of the dead-letter queue of a consumer queue. */
export const DLQ_SUFFIX = '.dlq';
/** Suffix (plus attempt number) of the delay queues that hold a message between retries. */
export const RETRY_SUFFIX = '.retry.';

/** AMQP headers this system sets; all lower-case, `x-pbx-` prefixed. */
export const HEADERS = {
  version: 'x-pbx-version',
  attempt: 'x-pbx-attempt',
  deadReason: 'x-pbx-dead-reason',
  deadStack: 'x-pbx-dead-stack',
  deadQueue: 'x-pbx-dead-queue',
  deadRoutingKey: 'x-pbx-dead-routing-key',
  firstFailedAt: 'x-pbx-first-failed-at',
  lastFailedAt: 'x-pbx-last-failed-at',
  replayOf: 'x-pbx-replay-of',
} as const;

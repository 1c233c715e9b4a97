import { z } from 'zod';
import { DELIVERY_CODES } from './domain/delivery-codes';
import { DESTINATION_TYPES } from './domain/destinations';
import { CONFIGURATION_KINDS, RUN_STATUSES, type FailedRunStatus } from './domain/runs';
import { verificationResultSchema } from './domain/verification';

/**
 * Every message on the bus: its wire name, version, routing key and payload schema.
 *
 * DO NOT RENAME a `type` or `routingKey` without a migration plan (see wire-names.ts).
 * A breaking payload change is a new version with its own routing key (`….v2`).
 * Payloads carry ids and facts, never secrets: consumers read secrets from Postgres.
 */
const uuid = z.uuid();
const isoTime = z.iso.datetime({ offset: true });

const artifact = z.object({
  fileName: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const MESSAGES = {
  'backup.due': {
    version: 1,
    routingKey: 'backup.due.v1',
    payload: z.object({ runId: uuid, kind: z.literal('backup') }),
  },
  'archive.due': {
    version: 1,
    routingKey: 'archive.due.v1',
    payload: z.object({ runId: uuid, kind: z.literal('archive') }),
  },
  'backup.deferred': {
    version: 1,
    routingKey: 'backup.deferred.v1',
    payload: z.object({ runId: uuid, kind: z.enum(CONFIGURATION_KINDS), deferredUntil: isoTime, heldBy: z.string() }),
  },
  'backup.packed': {
    version: 1,
    routingKey: 'backup.packed.v1',
    payload: z.object({ runId: uuid, kind: z.enum(CONFIGURATION_KINDS), artifact }),
  },
  'backup.deliver': {
    version: 1,
    routingKey: 'backup.deliver.v1',
    payload: z.object({ runId: uuid, deliveryId: uuid }),
  },
  'delivery.succeeded': {
    version: 1,
    routingKey: 'delivery.succeeded.v1',
    payload: z.object({ runId: uuid, deliveryId: uuid, destinationType: z.enum(DESTINATION_TYPES), location: z.string() }),
  },
  'delivery.failed': {
    version: 1,
    routingKey: 'delivery.failed.v1',
    payload: z.object({
      runId: uuid,
      deliveryId: uuid,
      destinationType: z.enum(DESTINATION_TYPES),
      code: z.enum(DELIVERY_CODES),
      error: z.string(),
    }),
  },
  'backup.succeeded': {
    version: 1,
    routingKey: 'backup.succeeded.v1',
    payload: z.object({ runId: uuid }),
  },
  'backup.failed': {
    version: 1,
    routingKey: 'backup.failed.v1',
    payload: z.object({
      runId: uuid,
      status: z.enum(['failed', 'partially_failed'] as const satisfies readonly FailedRunStatus[]),
      step: z.enum(['packing', 'delivery']),
      error: z.string().nullable(),
    }),
  },
  'archive.delivered': {
    version: 1,
    routingKey: 'archive.delivered.v1',
    payload: z.object({ runId: uuid, allSucceeded: z.boolean() }),
  },
  'archive.succeeded': {
    version: 1,
    routingKey: 'archive.succeeded.v1',
    payload: z.object({ runId: uuid }),
  },
  'archive.failed': {
    version: 1,
    routingKey: 'archive.failed.v1',
    payload: z.object({
      runId: uuid,
      step: z.enum(['packing', 'delivery', 'deletion']),
      error: z.string().nullable(),
    }),
  },
  /**
   * An operator cancelled the run (api, in the transaction that made it `cancelled`). Workers
   * do not need it (they watch the run's row at their safe points); the notifier logs it and
   * sends no report.
   */
  'run.cancelled': {
    version: 1,
    routingKey: 'run.cancelled.v1',
    payload: z.object({ runId: uuid, kind: z.enum(CONFIGURATION_KINDS), previousStatus: z.enum(RUN_STATUSES) }),
  },
  /** Read every stored copy of a run back and compare its sha256 with the run's (dispatcher). */
  'backup.verify-requested': {
    version: 1,
    routingKey: 'backup.verify-requested.v1',
    payload: z.object({
      runId: uuid,
      reason: z.enum(['manual', 'afterUpload', 'schedule']),
      /** Only these deliveries (afterUpload: the one just uploaded); absent: every succeeded one. */
      deliveryIds: z.array(uuid).optional(),
    }),
  },
  /** The copies were read back: one result per delivery checked. */
  'run.verified': {
    version: 1,
    routingKey: 'run.verified.v1',
    payload: z.object({
      runId: uuid,
      reason: z.enum(['manual', 'afterUpload', 'schedule']),
      results: z.array(z.object({ deliveryId: uuid, destinationType: z.enum(DESTINATION_TYPES), result: verificationResultSchema })),
    }),
  },
  /** A restore was asked for (api); the packer, which reaches the PBX, runs it. Secrets stay sealed in the restore's row. */
  'restore.requested': {
    version: 1,
    routingKey: 'restore.requested.v1',
    payload: z.object({ restoreId: uuid }),
  },
  /** A restore from a destination's stored copy: the dispatcher (it has the adapters) fetches it first, then asks for restore.requested. */
  'restore.fetch-requested': {
    version: 1,
    routingKey: 'restore.fetch-requested.v1',
    payload: z.object({ restoreId: uuid }),
  },
  'restore.succeeded': {
    version: 1,
    routingKey: 'restore.succeeded.v1',
    payload: z.object({ restoreId: uuid, preview: z.boolean() }),
  },
  'restore.failed': {
    version: 1,
    routingKey: 'restore.failed.v1',
    payload: z.object({ restoreId: uuid, status: z.enum(['failed', 'rolled_back']), error: z.string() }),
  },
} as const;

export type MessageType = keyof typeof MESSAGES;
export type PayloadOf<T extends MessageType> = z.infer<(typeof MESSAGES)[T]['payload']>;

export const MESSAGE_TYPES = Object.keys(MESSAGES) as MessageType[];

export function isMessageType(value: unknown): value is MessageType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(MESSAGES, value);
}

/** The JSON body of every message. `correlationId` is the run id. */
export const envelopeSchema = z.object({
  messageId: uuid,
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: isoTime,
  correlationId: z.string().min(1),
  payload: z.unknown(),
});

export interface Envelope<T extends MessageType = MessageType> {
  messageId: string;
  type: T;
  version: number;
  occurredAt: string;
  correlationId: string;
  payload: PayloadOf<T>;
}

export type EnvelopeCheck =
  | { ok: true; envelope: Envelope }
  | { ok: false; reason: string };

/** Validates a decoded body against the envelope, the type map and the payload schema. */
export function checkEnvelope(body: unknown): EnvelopeCheck {
  const env = envelopeSchema.safeParse(body);
  if (!env.success) return { ok: false, reason: `invalid envelope: ${z.prettifyError(env.error)}` };
  const { type, version } = env.data;
  if (!isMessageType(type)) return { ok: false, reason: `unknown message type "${type}"` };
  const def = MESSAGES[type];
  if (def.version !== version) return { ok: false, reason: `unsupported version ${version} of "${type}" (expected ${def.version})` };
  const payload = def.payload.safeParse(env.data.payload);
  if (!payload.success) return { ok: false, reason: `invalid payload of "${type}": ${z.prettifyError(payload.error)}` };
  return { ok: true, envelope: { ...env.data, type, payload: payload.data } as Envelope };
}

/** Which consumer group receives which message types. The topology is built from this. */
export const SUBSCRIPTIONS = {
  'packer.jobs.v1': ['backup.due', 'archive.due', 'restore.requested'],
  'dispatcher.packed.v1': ['backup.packed'],
  'dispatcher.deliver.v1': ['backup.deliver', 'backup.verify-requested', 'restore.fetch-requested'],
  'notifier.events.v1': ['backup.failed', 'backup.succeeded', 'archive.failed', 'archive.succeeded', 'run.verified', 'run.cancelled', 'restore.succeeded', 'restore.failed'],
  'archiver.finalize.v1': ['archive.delivered'],
  'audit.events.v1': ['backup.deferred', 'delivery.succeeded', 'delivery.failed'],
} as const satisfies Record<string, readonly MessageType[]>;

export type SubscribedQueue = keyof typeof SUBSCRIPTIONS;
export type TypesOf<Q extends SubscribedQueue> = (typeof SUBSCRIPTIONS)[Q][number];

import { randomUUID } from 'node:crypto';
import { MESSAGES, type Envelope, type MessageType, type PayloadOf } from '@pbx/contracts';

export class InvalidMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMessageError';
  }
}

/** Builds an envelope, validating the payload now: a bad message never reaches the outbox or the wire. */
export function createEnvelope<T extends MessageType>(
  type: T,
  payload: PayloadOf<T>,
  correlationId: string,
  messageId: string = randomUUID(),
): Envelope<T> {
  const def = MESSAGES[type];
  const parsed = def.payload.safeParse(payload);
  if (!parsed.success) throw new InvalidMessageError(`invalid payload for ${type}: ${parsed.error.message}`);
  return { messageId, type, version: def.version, occurredAt: new Date().toISOString(), correlationId, payload: parsed.data as PayloadOf<T> };
}

import { MESSAGES, HEADERS, type Envelope } from '@pbx/contracts';
import type { AmqpConnection } from './amqp-connection';

/** Publishes envelopes to the events exchange. Most code goes through the outbox instead. */
export class MessagePublisher {
  constructor(private readonly connection: AmqpConnection) {}

  async publish(envelope: Envelope): Promise<void> {
    const def = MESSAGES[envelope.type];
    await this.connection.publish(this.connection.names.events, def.routingKey, Buffer.from(JSON.stringify(envelope)), {
      messageId: envelope.messageId,
      type: envelope.type,
      correlationId: envelope.correlationId,
      timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
      headers: { [HEADERS.version]: envelope.version },
    });
  }
}

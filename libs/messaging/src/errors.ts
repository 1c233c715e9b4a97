/** Thrown by a handler when retrying cannot help (bad data, a refused credential): dead-lettered at once. */
export class PermanentMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentMessageError';
  }
}

/** A mandatory publish that no queue was bound for: an error, never a silent drop. */
export class UnroutableMessageError extends Error {
  constructor(exchange: string, routingKey: string) {
    super(`message to ${exchange} with routing key ${routingKey} is unroutable (no queue bound)`);
    this.name = 'UnroutableMessageError';
  }
}

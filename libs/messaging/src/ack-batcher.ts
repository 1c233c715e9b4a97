import type { Channel, ConsumeMessage } from 'amqplib';

interface Entry {
  msg: ConsumeMessage;
  /** open: in hand; acked: done, ack not yet sent; settled: nacked, no longer the broker's to ack. */
  state: 'open' | 'acked' | 'settled';
}

/**
 * Coalesces the acks of one channel: the acks of a turn of the event loop go out as one
 * `basic.ack multiple` for the longest finished run of deliveries from the oldest, plus
 * single acks for finished ones behind a message still in hand (a long backup job must not
 * hold back the acks of the short ones). One frame per window instead of one per message.
 */
export class AckBatcher {
  private readonly entries: Entry[] = [];
  private scheduled = false;

  constructor(private readonly ch: Channel) {}

  /** Every delivery is registered in delivery order, before its handler runs. */
  track(msg: ConsumeMessage): void {
    this.entries.push({ msg, state: 'open' });
  }

  ack(msg: ConsumeMessage): void {
    const entry = this.find(msg);
    if (!entry) return this.send(() => this.ch.ack(msg));
    entry.state = 'acked';
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Nacks go out at once; they only need to be skipped over by a later multiple ack. */
  nack(msg: ConsumeMessage, requeue: boolean): void {
    const entry = this.find(msg);
    if (entry) entry.state = 'settled';
    this.send(() => this.ch.nack(msg, false, requeue));
  }

  /** Sends what is pending now (before the channel closes on shutdown). */
  flush(): void {
    this.scheduled = false;
    let prefix = 0;
    let lastAcked: ConsumeMessage | undefined;
    while (prefix < this.entries.length && this.entries[prefix].state !== 'open') {
      if (this.entries[prefix].state === 'acked') lastAcked = this.entries[prefix].msg;
      prefix++;
    }
    this.entries.splice(0, prefix);
    const last = lastAcked;
    if (last) this.send(() => this.ch.ack(last, true));
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry.state === 'acked') {
        this.send(() => this.ch.ack(entry.msg));
        this.entries.splice(i, 1);
      }
    }
  }

  private find(msg: ConsumeMessage): Entry | undefined {
    const tag = msg.fields.deliveryTag;
    return this.entries.find((e) => e.msg.fields.deliveryTag === tag);
  }

  private send(fn: () => void): void {
    try {
      fn();
    } catch {
      // The channel closed under us; the broker redelivers and the inbox skips what was handled.
    }
  }
}

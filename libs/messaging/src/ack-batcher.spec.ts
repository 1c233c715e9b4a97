import type { Channel, ConsumeMessage } from 'amqplib';
import { AckBatcher } from './ack-batcher';

const msg = (tag: number): ConsumeMessage => ({ fields: { deliveryTag: tag } }) as ConsumeMessage;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function recorder(): { ch: Channel; calls: string[] } {
  const calls: string[] = [];
  const ch = {
    ack: (m: ConsumeMessage, all = false) => calls.push(`ack ${m.fields.deliveryTag}${all ? ' multiple' : ''}`),
    nack: (m: ConsumeMessage, _all: boolean, requeue: boolean) => calls.push(`nack ${m.fields.deliveryTag}${requeue ? ' requeue' : ''}`),
  } as unknown as Channel;
  return { ch, calls };
}

describe('AckBatcher', () => {
  it('acks of one turn go out as one multiple ack for the finished run from the oldest delivery', async () => {
    const { ch, calls } = recorder();
    const acks = new AckBatcher(ch);
    const ms = [1, 2, 3].map(msg);
    ms.forEach((m) => acks.track(m));
    acks.ack(ms[1]);
    acks.ack(ms[0]);
    acks.ack(ms[2]);
    expect(calls).toEqual([]); // nothing before the turn ends
    await turn();
    expect(calls).toEqual(['ack 3 multiple']);
  });

  it('a message still in hand does not hold back the acks behind it', async () => {
    const { ch, calls } = recorder();
    const acks = new AckBatcher(ch);
    const ms = [1, 2, 3, 4].map(msg);
    ms.forEach((m) => acks.track(m));
    acks.ack(ms[0]);
    acks.ack(ms[2]);
    acks.ack(ms[3]);
    await turn();
    expect(calls.sort()).toEqual(['ack 1 multiple', 'ack 3', 'ack 4']);
    acks.ack(ms[1]); // the slow one finishes later
    await turn();
    expect(calls).toContain('ack 2 multiple');
    expect(calls).toHaveLength(4); // 3 and 4 are not acked twice
  });

  it('a nack goes out at once and a later multiple ack passes over it', async () => {
    const { ch, calls } = recorder();
    const acks = new AckBatcher(ch);
    const ms = [1, 2, 3].map(msg);
    ms.forEach((m) => acks.track(m));
    acks.nack(ms[0], true);
    expect(calls).toEqual(['nack 1 requeue']);
    acks.ack(ms[1]);
    acks.ack(ms[2]);
    await turn();
    expect(calls).toEqual(['nack 1 requeue', 'ack 3 multiple']);
  });

  it('a closed channel is not an error: the broker redelivers', async () => {
    const acks = new AckBatcher({ ack: () => { throw new Error('Channel closed'); }, nack: () => { throw new Error('Channel closed'); } } as unknown as Channel);
    const m = msg(1);
    acks.track(m);
    acks.ack(m);
    await turn();
    expect(() => acks.nack(msg(2), true)).not.toThrow();
  });

  it('flush sends the pending acks at once (before a channel closes on shutdown)', () => {
    const { ch, calls } = recorder();
    const acks = new AckBatcher(ch);
    const ms = [1, 2].map(msg);
    ms.forEach((m) => acks.track(m));
    ms.forEach((m) => acks.ack(m));
    acks.flush();
    expect(calls).toEqual(['ack 2 multiple']);
  });
});

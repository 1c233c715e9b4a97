import { ProgressThrottle } from './progress-throttle';

describe('ProgressThrottle', () => {
  const setup = (total: number | null) => {
    let now = 0;
    const writes: number[] = [];
    const pending: Array<() => void> = [];
    const throttle = new ProgressThrottle(
      (done) => {
        writes.push(done);
        return new Promise<void>((resolve) => pending.push(resolve));
      },
      total,
      { now: () => now },
    );
    const settle = async () => {
      for (const resolve of pending.splice(0)) resolve();
      await new Promise((r) => setImmediate(r));
    };
    return { throttle, writes, settle, at: (ms: number) => (now = ms) };
  };

  it('writes the first report, then at most one per 500 ms', async () => {
    const { throttle, writes, settle, at } = setup(null);
    throttle.report(10);
    await settle();
    at(499);
    throttle.report(20);
    at(500);
    throttle.report(30);
    await settle();
    expect(writes).toEqual([10, 30]);
  });

  it('with a known total, skips moves under 1 % of it', async () => {
    const { throttle, writes, settle, at } = setup(10_000);
    throttle.report(0);
    await settle();
    at(1000);
    throttle.report(99);
    at(2000);
    throttle.report(100);
    await settle();
    expect(writes).toEqual([0, 100]);
  });

  it('never has two writes out at once, and survives a failed write', async () => {
    let now = 0;
    const writes: number[] = [];
    let fail = true;
    const throttle = new ProgressThrottle(
      async (done) => {
        writes.push(done);
        if (fail) throw new Error('db down');
      },
      null,
      { now: () => now },
    );
    throttle.report(1);
    now = 600;
    throttle.report(2); // the first is still out: dropped
    await new Promise((r) => setImmediate(r));
    fail = false;
    now = 1200;
    throttle.report(3);
    expect(writes).toEqual([1, 3]);
  });

  it('writes nothing when nothing moved', async () => {
    const { throttle, writes, settle, at } = setup(null);
    throttle.report(5);
    await settle();
    at(5000);
    throttle.report(5);
    expect(writes).toEqual([5]);
  });
});

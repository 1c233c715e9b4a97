import { TickBatcher } from './inbox';

describe('TickBatcher', () => {
  it('answers every call made in one turn with one run, each with its own value', async () => {
    const runs: string[][] = [];
    const b = new TickBatcher<string>(async (keys) => {
      runs.push(keys);
      return (k) => k.toUpperCase();
    });
    const values = await Promise.all(['a', 'b', 'a', 'c'].map((k) => b.load(k)));
    expect(values).toEqual(['A', 'B', 'A', 'C']);
    expect(runs).toEqual([['a', 'b', 'c']]); // duplicates are asked once
  });

  it('calls made in later turns go into later runs', async () => {
    const runs: string[][] = [];
    const b = new TickBatcher<number>(async (keys) => {
      runs.push(keys);
      return () => keys.length;
    });
    await b.load('x');
    await Promise.all([b.load('y'), b.load('z')]);
    expect(runs).toEqual([['x'], ['y', 'z']]);
  });

  it('flushes at maxBatch without waiting for the turn to end', async () => {
    const runs: string[][] = [];
    const b = new TickBatcher<void>(async (keys) => {
      runs.push(keys);
      return () => undefined;
    }, { maxBatch: 2 });
    await Promise.all(['1', '2', '3'].map((k) => b.load(k)));
    expect(runs).toEqual([['1', '2'], ['3']]);
  });

  it('a failed run rejects every caller of that run, and the next run is unaffected', async () => {
    let fail = true;
    const b = new TickBatcher<boolean>(async () => {
      if (fail) throw new Error('db down');
      return () => true;
    });
    const results = await Promise.allSettled([b.load('a'), b.load('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(b.load('c')).resolves.toBe(true);
  });

  it('while maxInFlight runs are out, new calls wait and then go as one batch', async () => {
    const runs: string[][] = [];
    const gates: (() => void)[] = [];
    const b = new TickBatcher<void>(
      (keys) =>
        new Promise((resolve) => {
          runs.push(keys);
          gates.push(() => resolve(() => undefined));
        }),
      { maxInFlight: 1 },
    );
    const first = b.load('a');
    await new Promise((r) => setImmediate(r));
    const later = [b.load('b'), b.load('c')];
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([['a']]); // b and c wait for the run in flight
    gates[0]();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([['a'], ['b', 'c']]);
    gates[1]();
    await Promise.all(later);
  });
});

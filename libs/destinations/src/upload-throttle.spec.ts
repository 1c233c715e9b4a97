import { Readable } from 'node:stream';
import { TokenBucket, TokenBucketStream } from './upload-throttle';

/** A clock that only moves when the bucket sleeps: the rate is exact arithmetic, no real time. */
function fakeClock() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms), elapsed: () => now };
}

describe('TokenBucket', () => {
  it.each([16 * 1024, 1_000_000, 10 * 1024 * 1024])('passes 50 MB at %i B/s in 50 MB / rate (less one burst)', async (rate) => {
    const clock = fakeClock();
    const bucket = new TokenBucket(rate, clock);
    const total = 50 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += bucket.burst) await bucket.take(Math.min(bucket.burst, total - sent));
    const expectedMs = ((total - bucket.burst) * 1000) / rate;
    expect(Math.abs(clock.elapsed() - expectedMs)).toBeLessThan(1);
  });

  it('an idle stream earns at most one burst', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(100_000, clock);
    await clock.sleep(60_000);
    await bucket.take(bucket.burst);
    const before = clock.elapsed();
    await bucket.take(100_000);
    expect(clock.elapsed() - before).toBeCloseTo(1000, 0);
  });

  it('the stream paces big chunks in bursts and keeps every byte in order', async () => {
    const clock = fakeClock();
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const out: Buffer[] = [];
    const stream = Readable.from([data.subarray(0, 200_000), data.subarray(200_000)]).pipe(new TokenBucketStream(20_000, clock));
    for await (const c of stream) out.push(c as Buffer);
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(clock.elapsed()).toBeCloseTo(((300_000 - 16 * 1024) * 1000) / 20_000, 0);
  });
});

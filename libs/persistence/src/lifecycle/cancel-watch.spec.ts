import type { RunStatus } from '@pbx/contracts';
import { RunCancelledError, watchForCancel } from './cancel-watch';

describe('watchForCancel', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('aborts once the row reads cancelled, not before', async () => {
    let status: RunStatus = 'packing';
    const read = jest.fn(async () => status);
    const watch = watchForCancel(read, 1000);
    await jest.advanceTimersByTimeAsync(2500);
    expect(watch.cancelled).toBe(false);
    status = 'cancelled';
    await jest.advanceTimersByTimeAsync(1000);
    expect(watch.cancelled).toBe(true);
    expect(watch.signal.reason).toBeInstanceOf(RunCancelledError);
    const reads = read.mock.calls.length;
    await jest.advanceTimersByTimeAsync(5000);
    expect(read.mock.calls.length).toBe(reads); // aborted: no more reads
    watch.stop();
  });

  it('survives a failed read and stops reading when stopped', async () => {
    const read = jest.fn<Promise<RunStatus | null>, []>().mockRejectedValueOnce(new Error('db down')).mockResolvedValue('cancelled');
    const watch = watchForCancel(read, 500);
    await jest.advanceTimersByTimeAsync(500);
    expect(watch.cancelled).toBe(false);
    await jest.advanceTimersByTimeAsync(500);
    expect(watch.cancelled).toBe(true);

    const other = jest.fn(async (): Promise<RunStatus | null> => 'dispatching');
    const stopped = watchForCancel(other, 500);
    stopped.stop();
    await jest.advanceTimersByTimeAsync(5000);
    expect(other).not.toHaveBeenCalled();
  });
});

import { runStatusAfterDelivery } from './runs';

describe('runStatusAfterDelivery', () => {
  it.each([
    [3, 3, 'succeeded'],
    [0, 0, 'succeeded'],
    [2, 3, 'partially_failed'],
    [1, 3, 'partially_failed'],
    [0, 3, 'failed'],
    [0, 1, 'failed'],
  ] as const)('%i of %i deliveries succeeded: %s', (succeeded, total, status) => {
    expect(runStatusAfterDelivery({ succeeded, total })).toBe(status);
  });

  it('a run that completed its work after delivering succeeded', () => {
    expect(runStatusAfterDelivery({ succeeded: 2, total: 2 }, true)).toBe('succeeded');
  });

  it.each([
    [2, 2, 'failed'],
    [0, 0, 'failed'],
    [1, 2, 'partially_failed'],
    [0, 2, 'failed'],
  ] as const)('a run that did not complete its work after delivering, %i of %i delivered: %s', (succeeded, total, status) => {
    expect(runStatusAfterDelivery({ succeeded, total }, false)).toBe(status);
  });
});

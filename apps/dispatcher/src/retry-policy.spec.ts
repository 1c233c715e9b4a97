import { nextAttempt, type AttemptFailure, type AttemptHistory, type NextAttempt, type RetryPolicy } from './retry-policy';

const MIN = 60_000;
const HOUR = 60 * MIN;
const policy: RetryPolicy = { retryForMs: 6 * HOUR, firstDelayMs: 5000, maxDelayMs: 10 * MIN };
const now = new Date('2026-12-01T02:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const transient: AttemptFailure = { permanent: false };

/** The wait until the next attempt, in ms, or the reason for giving up. */
function decide(history: AttemptHistory, failure: AttemptFailure, random: number, p: RetryPolicy = policy): number | string {
  const next: NextAttempt = nextAttempt(history, failure, now, p, () => random);
  return 'giveUp' in next ? next.giveUp : next.retryAt.getTime() - now.getTime();
}

describe('nextAttempt (the delivery\'s retry policy)', () => {
  it.each<[string, AttemptHistory, AttemptFailure, number, RetryPolicy, number | string]>([
    // Back-off: firstDelay · 2^(attempts-1), jittered to half .. all of it.
    ['first failure, least jitter', { attempts: 1, failingSince: null }, transient, 0, policy, 2500],
    ['first failure, most jitter', { attempts: 1, failingSince: null }, transient, 0.999_999, policy, 5000],
    ['third attempt doubles twice', { attempts: 3, failingSince: ago(MIN) }, transient, 0.5, policy, 15_000],
    ['the delay is capped at maxDelay', { attempts: 12, failingSince: ago(HOUR) }, transient, 0.999_999, policy, 10 * MIN],
    ['a huge attempt count does not overflow', { attempts: 5000, failingSince: ago(HOUR) }, transient, 0, policy, 5 * MIN],
    // A server's Retry-After is honoured as asked, without jitter, up to maxDelay.
    ['Retry-After shorter than the back-off', { attempts: 6, failingSince: ago(MIN) }, { permanent: false, retryAfterMs: 3000 }, 0, policy, 3000],
    ['Retry-After longer than the back-off', { attempts: 1, failingSince: null }, { permanent: false, retryAfterMs: 120_000 }, 0, policy, 120_000],
    ['Retry-After capped at maxDelay', { attempts: 1, failingSince: null }, { permanent: false, retryAfterMs: 3 * HOUR }, 0, policy, 10 * MIN],
    // The time budget runs from the first failure; the last attempt is placed at its end.
    ['well inside the budget', { attempts: 40, failingSince: ago(5 * HOUR) }, transient, 0.999_999, policy, 10 * MIN],
    ['the last wait is cut to the end of the budget', { attempts: 40, failingSince: ago(6 * HOUR - MIN) }, transient, 0.999_999, policy, MIN],
    ['budget spent: give up', { attempts: 41, failingSince: ago(6 * HOUR) }, transient, 0.5, policy, 'retry time spent'],
    ['no budget at all: the first failure is final', { attempts: 1, failingSince: null }, transient, 0.5, { ...policy, retryForMs: 0 }, 'retry time spent'],
    // A permanent failure needs a human: at once, whatever the budget says.
    ['permanent on the first attempt', { attempts: 1, failingSince: null }, { permanent: true }, 0.5, policy, 'permanent'],
    ['permanent with a Retry-After', { attempts: 2, failingSince: ago(MIN) }, { permanent: true, retryAfterMs: 1000 }, 0.5, policy, 'permanent'],
    // DELIVERY_MAX_ATTEMPTS, when set, is a cap inside the time.
    ['attempt cap not reached', { attempts: 2, failingSince: ago(MIN) }, transient, 0, { ...policy, maxAttempts: 3 }, 5000],
    ['attempt cap reached', { attempts: 3, failingSince: ago(MIN) }, transient, 0, { ...policy, maxAttempts: 3 }, 'attempts spent'],
    // Hours, not five quick attempts: a 45 s outage is ridden out.
    ['after a 45 s outage', { attempts: 5, failingSince: ago(45_000) }, transient, 0, policy, 40_000],
  ])('%s', (_name, history, failure, random, p, expected) => {
    expect(decide(history, failure, random, p)).toBe(expected);
  });

  it('keeps the first failure as the start of the budget, and starts it at the first failure', () => {
    const first = nextAttempt({ attempts: 1, failingSince: null }, transient, now, policy, () => 0);
    expect(first).toMatchObject({ failingSince: now });
    const since = ago(HOUR);
    expect(nextAttempt({ attempts: 7, failingSince: since }, transient, now, policy, () => 0)).toMatchObject({ failingSince: since });
  });

  it('a delivery that keeps failing tries for the whole budget, then gives up (about 40 attempts in 6 h)', () => {
    let t = now.getTime();
    let failingSince: Date | null = null;
    let attempts = 0;
    for (;;) {
      attempts++;
      const next = nextAttempt({ attempts, failingSince }, transient, new Date(t), policy, () => 0.5);
      if ('giveUp' in next) {
        expect(next.giveUp).toBe('retry time spent');
        break;
      }
      failingSince = next.failingSince;
      t = next.retryAt.getTime();
    }
    expect(t - now.getTime()).toBe(6 * HOUR);
    expect(attempts).toBeGreaterThan(40);
    expect(attempts).toBeLessThan(60);
  });
});

import { deterministicMessageId } from './mail.adapter';
import { publicBaseUrl } from './report.service';
import { stalenessThresholdMs } from './staleness.service';

describe('notifier helpers', () => {
  it('derives a stable, RFC 5322-safe Message-ID from subject and kind', () => {
    const id = deterministicMessageId('3f2b1c4d-0000-4000-8000-000000000001', 'backup.failed', 'pbx-backup <backup@pbx.example.com>');
    expect(id).toBe('<3f2b1c4d-0000-4000-8000-000000000001.backup.failed@pbx.example.com>');
    expect(deterministicMessageId('a', 'backup.failed', 'x <y@z.test>')).toBe(deterministicMessageId('a', 'backup.failed', 'x <y@z.test>'));
    expect(deterministicMessageId('a', 'backup.failed', 'x')).not.toBe(deterministicMessageId('a', 'backup.succeeded', 'x'));
    expect(deterministicMessageId('c', 'stale:2030-01-01T00:00:00.000Z', 'no-address')).toBe('<c.stale-2030-01-01T00-00-00.000Z@pbx-backup.local>');
  });

  it('allows two intervals plus the maintenance allowance before calling a configuration stale', () => {
    expect(stalenessThresholdMs('hourly', 0)).toBe(2 * 3_600_000);
    expect(stalenessThresholdMs('daily', 3_600_000)).toBe(49 * 3_600_000);
    expect(stalenessThresholdMs('monthly', 0)).toBe(62 * 24 * 3_600_000);
  });

  it('links to PUBLIC_URL, or localhost on the api port', () => {
    expect(publicBaseUrl({ PUBLIC_URL: 'https://pbx.example/', PORT: 3000 })).toBe('https://pbx.example');
    expect(publicBaseUrl({ PUBLIC_URL: undefined, PORT: 3100 })).toBe('http://localhost:3100');
  });
});

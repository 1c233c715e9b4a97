import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationConfig } from '@pbx/destinations';
import { packagesLoadedBy, testEnv } from '@pbx/testing';
import type * as Factories from './factories';

describe('lazyDestinationRegistry', () => {
  it('loads the adapters on the first asynchronous call, not when created', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pbx-lazy-'));
    let factories!: typeof Factories;
    expect(packagesLoadedBy(() => void (factories = jest.requireActual<typeof Factories>('./factories')))).toEqual([]);
    const registry = factories.lazyDestinationRegistry(testEnv({ LOCAL_BACKUP_ROOT: root }));
    const local = { type: 'local' } as DestinationConfig;
    expect(() => registry.label(local)).toThrow('before it was loaded');

    const report = await registry.test(local);
    expect(report.ok).toBe(true);
    expect(registry.label(local)).toEqual(expect.any(String));
  });
});

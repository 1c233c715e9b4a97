import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryError } from './delivery';
import { maskErrorPaths, maskReportPaths, maskServerPaths, type PathMask } from './server-paths';

const MASKS: PathMask[] = [['/srv/backups', '/'], ['/srv/backups/usb', '/'], ['/var/lib/pbx/artifacts', 'artifacts/']];

describe('maskServerPaths', () => {
  it.each([
    [`cannot write /srv/backups/pbx/starface-backup/N/f.sar: ENOENT: no such file or directory, open '/srv/backups/pbx/starface-backup/N/.f.sar.partial-1a'`,
      `cannot write /pbx/starface-backup/N/f.sar: ENOENT: no such file or directory, open '/pbx/starface-backup/N/.f.sar.partial-1a'`],
    [`EACCES: permission denied, mkdir '/srv/backups'`, `EACCES: permission denied, mkdir '/'`],
    ['[LOCAL]/srv/backups', '[LOCAL]/'],
    ['USB volume /srv/backups/usb/stick is not present', 'USB volume /stick is not present'],
    [`cp failed: cp: cannot stat '/var/lib/pbx/artifacts/3f2a.sar': No such file or directory`, `cp failed: cp: cannot stat 'artifacts/3f2a.sar': No such file or directory`],
    ['/srv/backups2/x stays: another directory', '/srv/backups2/x stays: another directory'],
  ])('%s', (text, shown) => {
    expect(maskServerPaths(text, MASKS)).toBe(shown);
  });

  it('masks the real path of a root reached through a symlink', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mask-'));
    try {
      symlinkSync(join(dir), join(dir, 'link'));
      expect(maskServerPaths(`open '${dir}/x'`, [[join(dir, 'link'), '/']])).toBe(`open '/x'`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps code and permanence of errors, and masks test steps', () => {
    const e = maskErrorPaths(new DeliveryError('sftpRightProblem', 'cannot create /srv/backups/a', true), MASKS);
    expect(e).toMatchObject({ code: 'sftpRightProblem', permanent: true, message: 'cannot create /a' });
    expect(maskErrorPaths(new Error(`ENOSPC, write '/srv/backups/a'`), MASKS)).toMatchObject({ code: 'ioError', permanent: false, message: `ENOSPC, write '/a'` });
    expect(maskReportPaths({ ok: true, steps: [{ step: 'resolve path', ok: true, detail: '/srv/backups/a' }, { step: 'x', ok: true }] }, MASKS).steps).toEqual([
      { step: 'resolve path', ok: true, detail: '/a' },
      { step: 'x', ok: true },
    ]);
  });
});

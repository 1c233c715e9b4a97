import { retentionPlan, type KeptFile } from './retention';

const file = (id: string, fileName: string, takenAt: string, finishedAt = takenAt): KeptFile => ({ id, fileName, takenAt: new Date(takenAt), finishedAt: new Date(finishedAt) });
const pruned = (files: KeptFile[], keepLast: number) => retentionPlan(files, keepLast).map((p) => `${p.file.id}:${p.deleteFile ? 'delete' : 'keep file'}`);

describe('retentionPlan', () => {
  it('keeps the newest by run time across names with and without the run id', () => {
    const files = [
      file('new-2', 'X_20261203-013000_bbbbbbbb.sar', '2026-12-03T01:30:00Z'),
      file('old-1', 'X_20261201-013000.sar', '2026-12-01T01:30:00Z'),
      file('new-1', 'X_20261202-013000_aaaaaaaa.sar', '2026-12-02T01:30:00Z'),
      file('old-2', 'X_20261130-013000.sar', '2026-11-30T01:30:00Z'),
    ];
    expect(pruned(files, 2)).toEqual(['old-1:delete', 'old-2:delete']);
    expect(pruned(files, 3)).toEqual(['old-2:delete']);
  });

  it('orders by run time, not by delivery time or name', () => {
    // A retried delivery of an older run finished last; its name also sorts last ("Z" > "2").
    const files = [
      file('late', 'X_20261201-013000.sar', '2026-12-01T01:30:00Z', '2026-12-05T00:00:00Z'),
      file('recent', 'X_20261202-013000_00000000.sar', '2026-12-02T01:30:00Z'),
    ];
    expect(pruned(files, 1)).toEqual(['late:delete']);
  });

  it('two runs in the same second: the later run is kept', () => {
    const files = [
      file('first', 'X_20261201-013000_aaaaaaaa.sar', '2026-12-01T01:30:00.100Z', '2026-12-01T01:31:00Z'),
      file('second', 'X_20261201-013000_bbbbbbbb.sar', '2026-12-01T01:30:00.900Z', '2026-12-01T01:30:50Z'),
    ];
    expect(pruned(files, 1)).toEqual(['first:delete']);
  });

  it('an old name two runs shared is one file: pruning the older delivery leaves it in place', () => {
    const files = [
      file('a', 'X_20261201-013000.sar', '2026-12-01T01:30:00.100Z'),
      file('b', 'X_20261201-013000.sar', '2026-12-01T01:30:00.600Z'),
      file('c', 'X_20261130-013000.sar', '2026-11-30T01:30:00Z'),
    ];
    expect(pruned(files, 1)).toEqual(['a:keep file', 'c:delete']);
  });

  it('prunes nothing within the limit', () => {
    expect(retentionPlan([file('a', 'X_20261201-013000.sar', '2026-12-01T01:30:00Z')], 1)).toEqual([]);
  });
});

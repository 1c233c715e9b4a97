import { artifactFileName, isEncryptedArchiveName, stagedArtifactName, stagedArtifactOf } from './artifact-name';

const RUN = '3f2a9c1e-7b4d-4e2a-9c1e-0123456789ab';

describe('artifactFileName', () => {
  it('holds the configuration name, the UTC time and the run id prefix, and ends .sar', () => {
    expect(artifactFileName('Nightly full', new Date('2026-12-01T01:30:00.123Z'), RUN)).toBe('Nightly full_20261201-013000_3f2a9c1e.sar');
  });
  it('uses UTC whatever the local zone', () => {
    expect(artifactFileName('x', new Date('2026-03-29T02:30:00+02:00'), RUN)).toBe('x_20260329-003000_3f2a9c1e.sar');
  });
  it('gives two runs in the same second two names', () => {
    const at = new Date('2026-12-01T01:30:00Z');
    expect(artifactFileName('x', at, RUN)).not.toBe(artifactFileName('x', at, '9b0c1d2e-0000-4000-8000-000000000000'));
  });
  it('sorts by time, also next to names of earlier versions (without the run id)', () => {
    const names = [
      artifactFileName('x', new Date('2026-12-02T01:30:00Z'), RUN),
      'x_20261201-013000.sar',
      artifactFileName('x', new Date('2026-12-01T01:29:59Z'), 'ffffffff-0000-4000-8000-000000000000'),
      'x_20261203-013000.sar',
    ];
    expect([...names].sort()).toEqual(['x_20261201-012959_ffffffff.sar', 'x_20261201-013000.sar', 'x_20261202-013000_3f2a9c1e.sar', 'x_20261203-013000.sar']);
  });
  it('an encrypted archive ends .sar.age, at its destinations and in ARTIFACT_DIR', () => {
    const name = artifactFileName('Nightly full', new Date('2026-12-01T01:30:00Z'), RUN, true);
    expect(name).toBe('Nightly full_20261201-013000_3f2a9c1e.sar.age');
    expect(isEncryptedArchiveName(name)).toBe(true);
    expect(isEncryptedArchiveName(artifactFileName('x', new Date(), RUN))).toBe(false);
    expect(stagedArtifactOf(RUN, name)).toBe(`${RUN}.sar.age`);
    expect(stagedArtifactOf(RUN, 'x_20261201-013000.sar')).toBe(`${RUN}.sar`);
    expect(stagedArtifactOf(RUN, null)).toBe(stagedArtifactName(RUN, false));
  });
  it('refuses a run id that is not a UUID', () => {
    expect(() => artifactFileName('x', new Date(), 'run-1')).toThrow(/not a UUID/);
  });
});

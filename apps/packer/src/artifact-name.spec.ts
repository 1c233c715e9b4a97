import { artifactFileName } from './artifact-name';

describe('artifactFileName', () => {
  it('holds the configuration name and the UTC time and ends .sar', () => {
    expect(artifactFileName('Nightly full', new Date('2026-12-01T01:30:00.123Z'))).toBe('Nightly full_20261201-013000.sar');
  });
  it('uses UTC whatever the local zone', () => {
    expect(artifactFileName('x', new Date('2026-03-29T02:30:00+02:00'))).toBe('x_20260329-003000.sar');
  });
});

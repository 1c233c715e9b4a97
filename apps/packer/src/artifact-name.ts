/**
 * The name a `.sar` gets at its destinations: the configuration name and the UTC time,
 * e.g. `Nightly full_20261201-013000.sar` (sortable; retention relies on it).
 */
export function artifactFileName(configurationName: string, at: Date): string {
  const iso = at.toISOString(); // 2026-12-01T01:30:00.000Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
  return `${configurationName}_${stamp}.sar`;
}

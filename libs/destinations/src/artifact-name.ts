/**
 * The name a `.sar` gets at its destinations: the configuration name, the UTC time and the
 * first 8 hex digits of the run id, e.g. `Nightly full_20261201-013000_3f2a9c1e.sar`.
 * Names sort by time; the run id keeps two runs of one configuration in the same second
 * from writing (and replacing) the same file. Files of earlier versions lack the id part.
 */
export function artifactFileName(configurationName: string, at: Date, runId: string): string {
  const iso = at.toISOString(); // 2026-12-01T01:30:00.000Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
  return `${configurationName}_${stamp}_${runIdPrefix(runId)}.sar`;
}

function runIdPrefix(runId: string): string {
  const hex = runId.replace(/-/g, '').slice(0, 8).toLowerCase();
  if (!/^[0-9a-f]{8}$/.test(hex)) throw new Error(`run id ${JSON.stringify(runId)} is not a UUID`);
  return hex;
}

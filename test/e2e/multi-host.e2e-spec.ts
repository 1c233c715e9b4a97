/**
 * Issue #21: dispatchers on several hosts that share no filesystem. The scenario is
 * bench/scale's exactly-once (one implementation for CI and the benchmark): network
 * namespaces a (api, scheduler, packer, notifier), b and c (one dispatcher each), each with its
 * own ARTIFACT_DIR, reaching Postgres, RabbitMQ, Redis, S3 (the artifact store), sshd, Samba
 * and the SMTP sink only over the bridge. 30 runs × 3 destinations; b's dispatcher is killed
 * (-9) while it is sending an archive, c finishes. Needs root (CI runs as root).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '@pbx/testing';

interface Report {
  exactlyOnce: { runs: number; killedMidUpload: boolean; killedAfterRuns: number; deliveriesRetried: number; figures: Record<string, number>; problems: string[] };
}

describe('three hosts, no shared filesystem: every delivery exactly once through a dispatcher kill', () => {
  let report: Report;
  let output = '';

  beforeAll(async () => {
    const dir = await tempDir('pbx-e2e-multi-host-');
    const json = join(dir.path, 'report.json');
    const child = spawn(process.execPath, [join(repoRoot, 'dist/bench/scale/scale-bench.js'), '--scenario', 'exactly-once', '--runs', '30', '--json', json], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    try {
      report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    } catch {
      throw new Error(`bench/scale ended with ${code} and no report:\n${output}`);
    } finally {
      await dir.remove();
    }
  }, 900_000);

  it('30 runs, each delivered once to SFTP, the Windows share and by e-mail, with the right sha256 and no partial file', () => {
    expect(report.exactlyOnce.runs).toBe(30);
    expect({ figures: report.exactlyOnce.figures, problems: report.exactlyOnce.problems }).toEqual({
      figures: Object.fromEntries(Object.keys(report.exactlyOnce.figures).map((k) => [k, 0])),
      problems: [],
    });
  });

  it("b's dispatcher died in the middle of an upload after some runs were done, and the delivery it held was taken over", () => {
    expect(report.exactlyOnce.killedMidUpload).toBe(true);
    expect(report.exactlyOnce.killedAfterRuns).toBeGreaterThanOrEqual(10);
    expect(report.exactlyOnce.deliveriesRetried).toBeGreaterThanOrEqual(1);
  });
});

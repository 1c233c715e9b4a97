/**
 * Issue #17: kill -9 of each worker (packer, dispatcher, notifier, scheduler, api) at random
 * points of a run — the small version of bench/faults (2 kills per worker here, ≥ 10 there):
 * the same built script, so CI and the benchmark check the same invariants (runs lost,
 * duplicate runs and deliveries, partial files, sha256 mismatches, missing or duplicate mails,
 * locks left behind: all 0). FAULTS_SEED repeats a run's kill delays (default 17).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '@pbx/testing';
import { appsRoot } from './stack';

const WORKERS = ['packer', 'dispatcher', 'notifier', 'scheduler', 'api'] as const;

interface Report {
  seed: number;
  trials: ({ worker: string; killedIn: string; problems: string[] } & Record<string, unknown>)[];
  totals: Record<string, number>;
}

describe('kill -9 of each worker at random points (bench/faults, 2 per worker)', () => {
  let report: Report;
  let output = '';

  afterAll(() => {
    if (Object.values(report?.totals ?? {}).some((n) => n > 0)) console.log(output); // the table, the delays, the seed
  });

  beforeAll(async () => {
    const dir = await tempDir('pbx-e2e-faults-kill-');
    const json = join(dir.path, 'report.json');
    const seed = process.env.FAULTS_SEED ?? '17';
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'dist/bench/faults/faults-bench.js'), '--per-worker', '2', '--seed', seed, '--json', json, ...(appsRoot === repoRoot ? [] : ['--apps-root', appsRoot])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    try {
      report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    } catch {
      throw new Error(`bench/faults ended with ${code} and no report:\n${output}`);
    } finally {
      await dir.remove();
    }
  }, 600_000);

  it.each(WORKERS)('%s killed twice: every run final, one file per destination with the right sha256, no partials, one mail, lock free', (worker) => {
    const trials = report.trials.filter((t) => t.worker === worker);
    expect(trials).toHaveLength(2);
    // The problems name what went wrong (and the output has the seed and the delays).
    expect({ worker, problems: trials.flatMap((t) => t.problems) }).toEqual({ worker, problems: [] });
  });

  it('all figures are 0', () => {
    expect(report.totals).toEqual(Object.fromEntries(Object.keys(report.totals).map((k) => [k, 0])));
  });
});

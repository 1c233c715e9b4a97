/**
 * Restore benchmark: RestoreEngine (replace, every section) vs the native pair `unzip` +
 * `psql \copy … from` of the same CSVs, on the same seeded PBX and the same `.sar`. Each runs
 * as a child process under /usr/bin/time -v (wall time, peak RSS).
 *
 *   npm run build && node dist/bench/restore/restore-bench.js --seed 1gb
 *   node dist/bench/restore/restore-bench.js --seed custom --cdr 250000 --voicemails 180 --announcements 10
 *   node dist/bench/restore/restore-bench.js --schema pbx_bench_restore_1gb --data-dir var/pbx-bench-restore-1gb   # existing seed
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { MaintenanceLock } from '@pbx/locking';
import { CORE_TABLES, PostgresPbxRestoreTarget, PostgresPbxSource, SEED_PRESETS, seedPbx } from '@pbx/pbx-source';
import { RestoreEngine, type RestorePhase } from '@pbx/restore';
import { writeSar } from '@pbx/sar';

const run = promisify(execFile);
const MiB = 1024 * 1024;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const databaseUrl = arg('database-url') ?? process.env.PBX_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx';
const redisUrl = arg('redis-url') ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const seedSize = arg('seed');
const label = seedSize ?? '1gb';
const schema = arg('schema') ?? `pbx_bench_restore_${label}`;
const dataDir = resolve(arg('data-dir') ?? `var/pbx-bench-restore-${label}`);
const workDir = resolve(arg('work-dir') ?? 'var/bench-restore');
const sarPath = join(workDir, 'full.sar');
const TABLES = [...CORE_TABLES, 'cdr', 'voicemails'] as const;
const CSV_OF: Record<(typeof TABLES)[number], string> = {
  ...(Object.fromEntries(CORE_TABLES.map((t) => [t, `core/${t}.csv`])) as Record<(typeof CORE_TABLES)[number], string>),
  cdr: 'cdr/cdr.csv',
  voicemails: 'voicemail/voicemails.csv',
};

/** Child mode: one restore with the engine; prints the phases' durations as JSON. */
async function childEngine(): Promise<void> {
  const pbx = { databaseUrl, schema, dataDir };
  const source = new PostgresPbxSource(pbx);
  const target = new PostgresPbxRestoreTarget(pbx);
  const redis = new Redis(redisUrl);
  const lock = new MaintenanceLock(redis, { keyPrefix: `bench-restore-${process.pid}:`, ttlMs: 30_000 });
  const engine = new RestoreEngine({ target, source, pbxId: 'bench', artifactDir: join(workDir, 'artifacts'), lockRetryMs: 1000 });
  const phases: Partial<Record<RestorePhase, number>> = {};
  let phase: RestorePhase | null = null;
  let since = Date.now();
  const stepStart = new Map<string, number>();
  const steps: Record<string, number> = {};
  let restoredAt = 0;
  // Peak memory per phase (sampled), to see which part of a restore holds the most.
  const memory: Record<string, { rssMiB: number; heapMiB: number; externalMiB: number }> = {};
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    const at = (memory[phase ?? 'start'] ??= { rssMiB: 0, heapMiB: 0, externalMiB: 0 });
    at.rssMiB = Math.max(at.rssMiB, Math.round(m.rss / MiB));
    at.heapMiB = Math.max(at.heapMiB, Math.round(m.heapUsed / MiB));
    at.externalMiB = Math.max(at.externalMiB, Math.round((m.external + m.arrayBuffers) / MiB));
  }, 100);
  const t0 = Date.now();
  const result = await engine.restore(sarPath, {
    restoreId: `bench-${Date.now()}`,
    mode: 'replace',
    lock,
    onProgress: (p) => {
      // Per section step (staging-audio, loading-tables, swapping-audio): where the restoring phase goes.
      for (const sec of p.sections) {
        const key = `${sec.section}:${sec.status}`;
        if (!stepStart.has(key)) {
          for (const [k, t] of stepStart) if (k.startsWith(`${sec.section}:`) && !steps[k]) steps[k] = (Date.now() - t) / 1000;
          stepStart.set(key, Date.now());
        }
      }
      if (p.phase === phase) return;
      if (phase === 'restoring') restoredAt = (Date.now() - t0) / 1000; // every section restored: the PBX has its data back
      if (phase) phases[phase] = (phases[phase] ?? 0) + (Date.now() - since) / 1000;
      phase = p.phase;
      since = Date.now();
    },
  });
  const seconds = (Date.now() - t0) / 1000;
  await rm(result.safetyBackup?.path ?? '', { force: true });
  await Promise.all([source.close(), target.close()]);
  redis.disconnect();
  clearInterval(sample);
  console.log(JSON.stringify({ seconds, restoredAt, phases, steps, memory }));
}

async function timed(cmd: string, args: string[]): Promise<{ seconds: number; maxRssMiB: number; stdout: string }> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`${cmd} failed (${code}): ${stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { seconds, maxRssMiB: rss ? Number(rss[1]) / 1024 : NaN, stdout };
}

/** The native pair: unzip everything, then one psql transaction TRUNCATE + \copy per CSV, then the audio folders moved in. */
async function nativeScript(): Promise<string> {
  const stage = join(workDir, 'native');
  const s = `"${schema}"`;
  const sql = [
    'BEGIN;',
    `TRUNCATE ${TABLES.map((t) => `${s}.${t}`).join(', ')};`,
    ...TABLES.map((t) => `\\copy ${s}.${t} FROM '${join(stage, CSV_OF[t])}' WITH (FORMAT csv, HEADER true)`),
    'COMMIT;',
  ].join('\n');
  await writeFile(join(workDir, 'native.sql'), sql);
  const q = (p: string) => JSON.stringify(p);
  return [
    `rm -rf ${q(stage)}`,
    `unzip -q ${q(sarPath)} -d ${q(stage)}`,
    `psql -X -q -v ON_ERROR_STOP=1 ${q(databaseUrl)} -f ${q(join(workDir, 'native.sql'))}`,
    `rm ${q(join(stage, 'voicemail', 'voicemails.csv'))}`,
    `rm -rf ${q(join(dataDir, 'voicemail'))} ${q(join(dataDir, 'announcements'))}`,
    `mv ${q(join(stage, 'voicemail'))} ${q(join(dataDir, 'voicemail'))}`,
    `mv ${q(join(stage, 'announcements'))} ${q(join(dataDir, 'announcements'))}`,
    `rm -rf ${q(stage)}`,
  ].join(' && ');
}

async function main(): Promise<void> {
  if (process.argv.includes('--child-engine')) return childEngine();
  if (seedSize) {
    const preset =
      seedSize === 'custom'
        ? { users: 200, cdr: Number(arg('cdr') ?? 250_000), voicemails: Number(arg('voicemails') ?? 180), announcements: Number(arg('announcements') ?? 10) }
        : SEED_PRESETS[seedSize as keyof typeof SEED_PRESETS];
    if (!preset) throw new Error('--seed must be 1gb, 4gb or custom');
    console.log(`seeding ${seedSize} into schema ${schema}, ${dataDir} ...`);
    const t = Date.now();
    await seedPbx({ databaseUrl, schema, dataDir, ...preset, days: 90, seed: 1, reset: true });
    console.log(`seeded in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const source = new PostgresPbxSource({ databaseUrl, schema, dataDir });
  const stats = await source.stats();
  const packed = await writeSar({ source, sections: { coreData: true, cdrAndVoicemails: true, announcements: true }, outPath: sarPath, configurationName: 'bench', pbxId: 'bench', kind: 'backup' });
  await source.close();
  // Page cache warm for both: the archive is read from memory.
  await run('bash', ['-c', `cat ${JSON.stringify(sarPath)} > /dev/null`]);

  const native = await timed('bash', ['-c', await nativeScript()]);
  const engine = await timed(process.execPath, [__filename, '--child-engine', '--database-url', databaseUrl, '--redis-url', redisUrl, '--schema', schema, '--data-dir', dataDir, '--work-dir', workDir]);
  const child = JSON.parse(engine.stdout.trim().split('\n').pop() ?? '{}') as {
    seconds: number;
    restoredAt: number;
    phases: Partial<Record<RestorePhase, number>>;
    steps: Record<string, number>;
    memory: Record<string, { rssMiB: number; heapMiB: number; externalMiB: number }>;
  };

  const after = new PostgresPbxSource({ databaseUrl, schema, dataDir });
  const check = await after.stats();
  await after.close();
  if (JSON.stringify(check.rowCounts) !== JSON.stringify(stats.rowCounts) || check.dataDirFiles !== stats.dataDirFiles) {
    throw new Error(`restored PBX differs: ${JSON.stringify(check)} vs ${JSON.stringify(stats)}`);
  }
  const input = packed.size;
  const restoring = child.phases.restoring ?? child.seconds;
  console.log(`\nPBX: ${stats.rowCounts.cdr} CDRs, ${stats.dataDirFiles} audio files (${(stats.dataDirBytes / MiB).toFixed(0)} MiB); .sar ${(input / MiB).toFixed(0)} MiB\n`);
  console.log('| restorer | time (s) | MiB/s (.sar) | speed vs native | peak RSS (MiB) |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const row = (name: string, seconds: number, rss: string) =>
    console.log(`| ${name} | ${seconds.toFixed(1)} | ${(input / MiB / seconds).toFixed(1)} | ${(native.seconds / seconds).toFixed(2)}x | ${rss} |`);
  row('unzip + psql \\copy (native pair)', native.seconds, native.maxRssMiB.toFixed(0));
  // The process's wall time less what came after the last section (packing the safety archive).
  row('RestoreEngine, PBX restored (verify ‖ capture, then every section)', engine.seconds - (child.seconds - child.restoredAt), '–');
  row('RestoreEngine, whole job (… + safety archive packed)', engine.seconds, engine.maxRssMiB.toFixed(0));
  row('RestoreEngine, restoring phase only', restoring, '–');
  console.log(`\nengine phases (s): ${Object.entries(child.phases).map(([p, s]) => `${p} ${s?.toFixed(1)}`).join(', ')}`);
  console.log(`section steps (s): ${Object.entries(child.steps).map(([k, s]) => `${k} ${s.toFixed(1)}`).join(', ')}`);
  console.log(`peak memory per phase (MiB, sampled): ${Object.entries(child.memory).map(([p, m]) => `${p} rss ${m.rssMiB} heap ${m.heapMiB} external ${m.externalMiB}`).join('; ')}`);
  console.log(`sizes: .sar ${(await stat(sarPath)).size} bytes`);
  await rm(workDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Packing benchmark: writeSar vs `zip -r` (deflate -6) vs `zip -0` (store) over the same
 * seeded PBX. Every packer runs in its own child process under /usr/bin/time -v (peak RSS).
 *
 *   npm run build && node dist/bench/pack/pack-bench.js --seed 1gb          # seed + measure
 *   node dist/bench/pack/pack-bench.js --schema pbx_bench_1gb --data-dir var/pbx-bench-1gb
 *
 * zip gets the data dir plus the tables exported to CSV beforehand (the export is NOT
 * counted in zip's time); writeSar's time includes streaming the tables out of Postgres.
 *
 *   node dist/bench/pack/pack-bench.js --schema pbx_bench_1gb --data-dir var/pbx-bench-1gb --encryption [--rounds 3]
 *
 * compares writeSar alone with writeSar + age encryption as the packer does it (inline: the
 * writer writes into AgeFileWriter, which seals on the writer's thread), recipients mode, rounds interleaved (plain, encrypted,
 * plain, …); then once with a passphrase and once as a second pass (encryptFile over the .sar).
 */
import { execFile, spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { mkdir, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { CORE_TABLES, PostgresPbxSource, SEED_PRESETS, seedPbx, type SeedPreset } from '@pbx/pbx-source';
import { encryptFile, openAgeFileWriter, withPlainArchive, type EncryptionKey } from '@pbx/encryption';
import { verifySar, writeSar } from '@pbx/sar';

const run = promisify(execFile);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const databaseUrl = arg('database-url') ?? process.env.PBX_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx';
const seedSize = arg('seed') as SeedPreset | undefined;
const schema = arg('schema') ?? `pbx_bench_${seedSize ?? '1gb'}`;
const dataDir = resolve(arg('data-dir') ?? `var/pbx-bench-${seedSize ?? '1gb'}`);
const workDir = resolve(arg('work-dir') ?? 'var/bench-pack');

interface Measurement {
  name: string;
  seconds: number;
  bytes: number;
  maxRssMiB: number;
}

type EncryptMode = 'none' | 'recipients' | 'passphrase' | 'second-pass' | 'second-pass-library';

/** Child mode: pack once with writeSar (encrypted as `--encrypt` says) and print a JSON line. */
async function childSar(outPath: string): Promise<void> {
  const source = new PostgresPbxSource({ databaseUrl, schema, dataDir });
  const encrypt = (arg('encrypt') ?? 'none') as EncryptMode;
  const key: EncryptionKey = encrypt === 'passphrase' ? { passphrase: 'bench passphrase' } : { recipients: [arg('recipient') ?? ''] };
  const t0 = process.hrtime.bigint();
  const options = {
    source,
    sections: { coreData: true, cdrAndVoicemails: true, announcements: true },
    outPath,
    configurationName: 'bench',
    pbxId: 'bench',
    kind: 'backup' as const,
    audioLevel: Number(arg('audio-level') ?? 0),
  };
  let r: { size: number; entries: number };
  if (encrypt === 'second-pass') {
    // The packer before inline encryption: the .sar on disk, then encrypted into the .sar.age.
    const sar = await writeSar({ ...options, outPath: `${outPath}.plain` });
    r = { ...(await encryptFile(`${outPath}.plain`, outPath, key)), entries: sar.entries };
    await rm(`${outPath}.plain`);
  } else if (encrypt === 'second-pass-library') {
    // The packer before this change: a second pass with age-encryption (pure JS), for comparison.
    const sar = await writeSar({ ...options, outPath: `${outPath}.plain` });
    const { Encrypter } = await import('age-encryption');
    const encrypter = new Encrypter();
    encrypter.addRecipient(arg('recipient') ?? '');
    const encrypted = await encrypter.encrypt(Readable.toWeb(createReadStream(`${outPath}.plain`, { highWaterMark: MiB })) as ReadableStream<Uint8Array>);
    await pipeline(Readable.fromWeb(encrypted as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(outPath));
    r = { size: (await stat(outPath)).size, entries: sar.entries };
    await rm(`${outPath}.plain`);
  } else {
    // As the packer does it (ArtifactEncryption.sinkFor): the writer writes into an age file writer.
    r = await writeSar({ ...options, sink: encrypt === 'none' ? undefined : await openAgeFileWriter(outPath, key) });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await source.close();
  console.log(JSON.stringify({ seconds, size: r.size, entries: r.entries }));
}

/** Runs a command under /usr/bin/time -v; returns wall seconds and peak RSS. */
const MiB = 1024 * 1024;

async function timed(cmd: string, args: string[], cwd: string): Promise<{ seconds: number; maxRssMiB: number; cpuSeconds: number; stdout: string }> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`${cmd} failed (${code}): ${stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const cpu = (label: string) => Number(new RegExp(`${label} time \\(seconds\\): ([\\d.]+)`).exec(stderr)?.[1] ?? NaN);
  return { seconds, maxRssMiB: rss ? Number(rss[1]) / 1024 : NaN, cpuSeconds: cpu('User') + cpu('System'), stdout };
}

async function treeBytes(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sbL', dir]);
  return Number(stdout.split('\t')[0]);
}

async function main(): Promise<void> {
  if (process.argv.includes('--child-sar')) return childSar(arg('out') ?? '');
  if (seedSize) {
    if (!SEED_PRESETS[seedSize]) throw new Error('--seed must be 1gb or 4gb');
    console.log(`seeding ${seedSize} into schema ${schema}, ${dataDir} ...`);
    const t = Date.now();
    await seedPbx({ databaseUrl, schema, dataDir, ...SEED_PRESETS[seedSize], days: 90, seed: 1, reset: true });
    console.log(`seeded in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  if (process.argv.includes('--encryption')) return encryptionBench();
  await rm(workDir, { recursive: true, force: true });
  const stage = join(workDir, 'stage');
  await mkdir(join(stage, 'core'), { recursive: true });
  await mkdir(join(stage, 'cdr'));
  await mkdir(join(stage, 'voicemail'));

  // Same content for zip: CSV exports of the tables + the audio (symlinked, zip follows them).
  const source = new PostgresPbxSource({ databaseUrl, schema, dataDir });
  const stats = await source.stats();
  for (const t of CORE_TABLES) await pipeline(await source.openCoreTable(t), createWriteStream(join(stage, 'core', `${t}.csv`)));
  await pipeline(await source.openCdrCsv(), createWriteStream(join(stage, 'cdr', 'cdr.csv')));
  await pipeline(await source.openVoicemailCsv(), createWriteStream(join(stage, 'voicemail', 'voicemails.csv')));
  await source.close();
  for (const mailbox of await readdir(join(dataDir, 'voicemail'))) await symlink(join(dataDir, 'voicemail', mailbox), join(stage, 'voicemail', mailbox));
  await symlink(join(dataDir, 'announcements'), join(stage, 'announcements'));
  const inputBytes = await treeBytes(stage);
  const csvBytes = (await stat(join(stage, 'cdr', 'cdr.csv'))).size;
  // Warm the page cache so every packer reads from memory, not from the first one's reads.
  await run('bash', ['-c', `find -L ${JSON.stringify(stage)} -type f -exec cat {} + > /dev/null`], { maxBuffer: 1 << 20 });

  const results: Measurement[] = [];
  const only = arg('only')?.split(',');
  const want = (n: string) => !only || only.includes(n);
  if (want('zip-r')) {
    const out = join(workDir, 'zip-r.zip');
    const m = await timed('zip', ['-r', '-q', out, '.'], stage);
    results.push({ name: 'zip -r (deflate 6)', seconds: m.seconds, bytes: (await stat(out)).size, maxRssMiB: m.maxRssMiB });
    await rm(out);
  }
  if (want('zip-0')) {
    const out = join(workDir, 'zip-0.zip');
    const m = await timed('zip', ['-r', '-0', '-q', out, '.'], stage);
    results.push({ name: 'zip -r -0 (store)', seconds: m.seconds, bytes: (await stat(out)).size, maxRssMiB: m.maxRssMiB });
    await rm(out);
  }
  // writeSar as specified (audio stored), then with the SAR_AUDIO_DEFLATE_LEVEL option.
  const audioLevels = (arg('audio-levels') ?? '0,2').split(',').map(Number);
  const verifications: string[] = [];
  for (const level of audioLevels) {
    const sarPath = join(workDir, 'bench.sar.partial');
    const m = await timed(process.execPath, [__filename, '--child-sar', '--out', sarPath, '--database-url', databaseUrl, '--schema', schema, '--data-dir', dataDir, '--audio-level', String(level)], process.cwd());
    const child = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number; size: number };
    results.push({ name: level ? `writeSar, audio deflated (level ${level})` : 'writeSar (audio stored)', seconds: m.seconds, bytes: child.size, maxRssMiB: m.maxRssMiB });
    const v0 = Date.now();
    const verified = await verifySar(sarPath);
    const verifySeconds = (Date.now() - v0) / 1000;
    if (!verified.ok) throw new Error(`verify failed: ${verified.badEntry} ${verified.reason}`);
    verifications.push(`level ${level}: ${verifySeconds.toFixed(1)} s (${(child.size / MiB / verifySeconds).toFixed(0)} MiB/s)`);
    await rm(sarPath);
  }

  console.log(`\nPBX: ${stats.rowCounts.cdr} CDRs (CSV ${(csvBytes / MiB).toFixed(0)} MiB), ${stats.dataDirFiles} audio files (${(stats.dataDirBytes / MiB).toFixed(0)} MiB); input ${(inputBytes / MiB).toFixed(0)} MiB\n`);
  const zipR = results.find((r) => r.name.startsWith('zip -r (')) ?? results[0];
  console.log('| packer | time (s) | MiB/s (input) | output (MiB) | size vs zip -r | speed vs zip -r | peak RSS (MiB) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.seconds.toFixed(1)} | ${(inputBytes / MiB / r.seconds).toFixed(1)} | ${(r.bytes / MiB).toFixed(1)} | ` +
        `${(r.bytes / zipR.bytes).toFixed(3)}x | ${(zipR.seconds / r.seconds).toFixed(2)}x | ${r.maxRssMiB.toFixed(0)} |`,
    );
  }
  console.log(`\nverifySar: ${verifications.join('; ')}`);
  await rm(workDir, { recursive: true, force: true });
}

/** writeSar alone vs writeSar + age encryption (see the header comment); figures in README.md. */
async function encryptionBench(): Promise<void> {
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const keyFile = join(workDir, 'key.txt');
  await run('age-keygen', ['-o', keyFile]);
  const recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
  const source = new PostgresPbxSource({ databaseUrl, schema, dataDir });
  const stats = await source.stats();
  await source.close();
  await run('bash', ['-c', `find -L ${JSON.stringify(dataDir)} -type f -exec cat {} + > /dev/null`], { maxBuffer: 1 << 20 });

  const rounds = Number(arg('rounds') ?? 3);
  const plan: EncryptMode[] = [];
  const encMode: EncryptMode = 'recipients';
  for (let i = 0; i < rounds; i++) plan.push('none', encMode); // interleaved: the machine's load hits both alike
  plan.push(...((arg('extra') ?? 'passphrase,second-pass').split(',').filter(Boolean) as EncryptMode[]));
  const rows: { mode: EncryptMode; seconds: number; cpuSeconds: number; bytes: number; maxRssMiB: number; load: string }[] = [];
  let checked = false;
  for (const mode of plan) {
    const out = join(workDir, mode === 'none' ? 'bench.sar.partial' : 'bench.sar.age.partial');
    const load = (await run('cat', ['/proc/loadavg'])).stdout.split(' ').slice(0, 1).join('');
    const m = await timed(process.execPath, [__filename, '--child-sar', '--out', out, '--database-url', databaseUrl, '--schema', schema, '--data-dir', dataDir, '--encrypt', mode, '--recipient', recipient], process.cwd());
    const child = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number; size: number };
    rows.push({ mode, seconds: m.seconds, cpuSeconds: m.cpuSeconds, bytes: child.size, maxRssMiB: m.maxRssMiB, load });
    console.log(`${mode}: ${m.seconds.toFixed(1)} s (CPU ${m.cpuSeconds.toFixed(1)} s), ${(child.size / MiB).toFixed(1)} MiB, peak RSS ${m.maxRssMiB.toFixed(0)} MiB (load ${load})`);
    if (mode === encMode && !checked) {
      // Once: the encrypted archive decrypts (withPlainArchive, as restore does) to a .sar that verifies.
      const t = Date.now();
      const verified = await withPlainArchive(out, { identity: await readFile(keyFile, 'utf8') }, workDir, (plain) => verifySar(plain));
      if (!verified.ok) throw new Error(`verify failed: ${verified.badEntry} ${verified.reason}`);
      console.log(`  decrypt + verifySar: ${((Date.now() - t) / 1000).toFixed(1)} s`);
      checked = true;
    }
    await rm(out, { force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const of = (mode: EncryptMode) => rows.filter((r) => r.mode === mode);
  const plainMedian = median(of('none').map((r) => r.seconds));
  // Speeds in MiB of the plain archive per second, whatever the mode (the encrypted file is 0.02 % larger).
  const archiveMiB = (of('none')[0]?.bytes ?? 0) / MiB;
  console.log(`\nPBX: ${stats.rowCounts.cdr} CDRs, ${stats.dataDirFiles} audio files (${(stats.dataDirBytes / MiB).toFixed(0)} MiB); plain archive ${archiveMiB.toFixed(0)} MiB\n`);
  // CPU: user + system seconds of the packing process (Postgres' COPY backend not included).
  console.log('| run | mode | time (s) | MiB/s (archive) | output (MiB) | speed vs plain (median) | CPU (s) | peak RSS (MiB) | load avg |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  rows.forEach((r, i) =>
    console.log(
      `| ${i + 1} | ${r.mode} | ${r.seconds.toFixed(1)} | ${(archiveMiB / r.seconds).toFixed(1)} | ${(r.bytes / MiB).toFixed(1)} | ${(plainMedian / r.seconds).toFixed(2)}x | ${r.cpuSeconds.toFixed(1)} | ${r.maxRssMiB.toFixed(0)} | ${r.load} |`,
    ),
  );
  const encMedian = median(of(encMode).map((r) => r.seconds));
  console.log(`\nmedian: plain ${plainMedian.toFixed(1)} s, encrypted (recipients) ${encMedian.toFixed(1)} s: ${(plainMedian / encMedian).toFixed(2)}x`);
  // Each round's pair (plain, then encrypted right after): the load both saw was about the same.
  const pairs = of(encMode).map((r, i) => (of('none')[i]?.seconds ?? NaN) / r.seconds);
  console.log(`per round (plain/encrypted): ${pairs.map((p) => `${p.toFixed(2)}x`).join(', ')}; median ${median(pairs).toFixed(2)}x`);
  const cpuMedian = (mode: EncryptMode) => median(of(mode).map((r) => r.cpuSeconds));
  console.log(`median CPU: plain ${cpuMedian('none').toFixed(1)} s, encrypted ${cpuMedian(encMode).toFixed(1)} s: ${(cpuMedian('none') / cpuMedian(encMode)).toFixed(2)}x`);
  console.log(`peak RSS: plain max ${Math.max(...of('none').map((r) => r.maxRssMiB)).toFixed(0)} MiB, encrypted max ${Math.max(...of(encMode).map((r) => r.maxRssMiB)).toFixed(0)} MiB`);
  await rm(workDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * bench/faults (issue #17): kill -9 of each worker at random points of a run, N times each,
 * with the five built apps as separate processes on the real Postgres, RabbitMQ, Redis and the
 * test peers (scripts/test-peers.sh: sshd, Samba, SMTP sink). After every kill the app is
 * restarted, the run is followed to its end and the invariants are checked: the run is final
 * with the expected status, each destination (local, SFTP, SMB) holds exactly one file with the
 * run's sha256 and no `.partial-*`, one delivery per destination, the maintenance lock is free,
 * exactly one report mail per run (every configuration mails successes too), and for the
 * scheduler exactly one run per slot.
 *
 *   npm run bench:faults -- [--per-worker 10] [--seed 17] [--workers packer,dispatcher,notifier,scheduler,api] [--json out.json]
 *   (= npm run build && node dist/bench/faults/faults-bench.js …)
 *
 * The kill delays come from a seeded RNG (mulberry32): the same seed repeats the same delays.
 * `--apps-root <dir>` runs another checkout's build (and migrations), e.g. an older revision.
 * Exit code 0 when every figure is 0. Own schemas, AMQP namespace, lock key and directories;
 * all removed afterwards (KEEP_FAULTS_DIR=1 keeps the apps' logs).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { link, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import Redis from 'ioredis';
import { Client } from 'pg';
import { DLQ_SUFFIX, EXCHANGES, RETRY_SUFFIX, SUBSCRIPTIONS } from '@pbx/contracts';
import { migrateDatabase } from '@pbx/persistence';
import { generateSpeechWav, migratePbxSchema, SeededRandom, seedPbx, WAV_HEADER_BYTES, WAV_SAMPLE_RATE } from '@pbx/pbx-source';
import { Apps, hostKeyFingerprint, peers, sha256File, sleep, until, urls } from '../common/bench-apps';

const WORKERS = ['packer', 'dispatcher', 'notifier', 'scheduler', 'api'] as const;
type Worker = (typeof WORKERS)[number];
const APPS = ['api', 'scheduler', 'packer', 'dispatcher', 'notifier'] as const;
type App = (typeof APPS)[number];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const perWorker = Number(arg('per-worker') ?? 10);
const seed = Number(arg('seed') ?? 17);
const workers = (arg('workers') ?? WORKERS.join(',')).split(',').filter(Boolean) as Worker[];
const jsonOut = arg('json');
const root = resolve(__dirname, '../../..');
const appsRoot = resolve(arg('apps-root') ?? root);
for (const w of workers) if (!WORKERS.includes(w)) throw new Error(`unknown worker ${w}; one of ${WORKERS.join(', ')}`);

const MiB = 1024 * 1024;
const FINAL = ['succeeded', 'partially_failed', 'failed'];

/** mulberry32: a small seeded PRNG, [0, 1). */
function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Trial {
  worker: Worker;
  index: number;
  name: string;
  reportTo: string;
  failing: boolean;
  killDelayMs: number;
  /** The run's status when the kill came (or "before the run" for the scheduler/api). */
  killedIn: string;
  runId: string | null;
  status: string | null;
  msToFinal: number | null;
  problems: string[];
  runsLost: number;
  duplicateRuns: number;
  duplicateDeliveries: number;
  partialFiles: number;
  shaMismatches: number;
  missingFiles: number;
  duplicateMails: number;
  missingMails: number;
  locksLeft: number;
  wrongStatus: number;
}

const FIGURES = ['runsLost', 'duplicateRuns', 'duplicateDeliveries', 'partialFiles', 'shaMismatches', 'missingFiles', 'duplicateMails', 'missingMails', 'locksLeft', 'wrongStatus'] as const;

async function main(): Promise<void> {
  const started = new Date();
  const tag = `faults_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'pbx-bench-faults-'));
  const schema = tag;
  const pbxSchema = `${tag}_pbx`;
  const ns = `${tag.replace(/_/g, '-')}.`;
  const lockKey = `${tag}:lock`;
  const token = `bench-${randomBytes(12).toString('hex')}`;
  const pg = new Client({ connectionString: urls.database, options: `-c search_path="${schema}"` });
  await pg.connect();
  const redis = new Redis(urls.redis);
  const trials: Trial[] = [];
  const folders: string[] = [];
  let apps: Apps<App> | undefined;
  try {
    await pg.query(`CREATE SCHEMA "${schema}"`);
    await pg.query(`CREATE SCHEMA "${pbxSchema}"`);
    if (appsRoot === root) await migrateDatabase({ url: urls.database, schema });
    else execFileSync(process.execPath, [join(appsRoot, 'dist/scripts/migrate.js')], { env: { ...process.env, DATABASE_URL: urls.database, DATABASE_SCHEMA: schema }, stdio: 'ignore' });
    await migratePbxSchema({ databaseUrl: urls.database, schema: pbxSchema });
    const dataDir = join(dir, 'pbx');
    await seedPbx({ databaseUrl: urls.database, schema: pbxSchema, dataDir, users: 20, cdr: 2000, voicemails: 8, announcements: 1, minAudioBytes: 4_000, maxAudioBytes: 8_000 });
    // ~32 MiB of voicemail audio (hard links to one recording): packing and each upload take a
    // noticeable part of a second, so kills land inside them, not only between them.
    const wav = generateSpeechWav(SeededRandom.derive(seed, 1), 4 * MiB);
    await writeFile(join(dir, 'big.wav'), wav);
    const { rows } = await pg.query<{ file_name: string }>(`SELECT file_name FROM "${pbxSchema}".voicemails`);
    for (const { file_name } of rows) {
      await rm(join(dataDir, file_name));
      await link(join(dir, 'big.wav'), join(dataDir, file_name));
    }
    await pg.query(`UPDATE "${pbxSchema}".voicemails SET size_bytes = $1, duration_s = $2`, [wav.length, Math.round((wav.length - WAV_HEADER_BYTES) / 2 / WAV_SAMPLE_RATE)]);

    const env: Record<string, string> = {
      NODE_ENV: 'test', LOG_LEVEL: 'info',
      DATABASE_URL: urls.database, DATABASE_SCHEMA: schema, PBX_DATABASE_URL: urls.database, PBX_DATABASE_SCHEMA: pbxSchema, PBX_DATA_DIR: dataDir,
      AMQP_URL: urls.amqp, AMQP_NAMESPACE: ns, AMQP_RETRY_DELAY_MS: '200', AMQP_MAX_ATTEMPTS: '3',
      DELIVERY_RETRY_FIRST_DELAY_MS: '200', DELIVERY_RETRY_MAX_DELAY_MS: '1000', DELIVERY_RETRY_FOR_MS: '60000',
      DESTINATION_CONNECT_TIMEOUT_MS: '5000', DESTINATION_IDLE_TIMEOUT_MS: '10000',
      REDIS_URL: urls.redis, ARTIFACT_DIR: join(dir, 'artifacts'), LOCAL_BACKUP_ROOT: join(dir, 'backups'), USB_MOUNT_ROOT: join(dir, 'usb'),
      SMTP_URL: peers.smtp.url, MAIL_FROM: 'pbx-backup-faults <faults@localhost>', SECRETS_KEY: randomBytes(32).toString('hex'), ADMIN_API_TOKEN: token,
      MAINTENANCE_LOCK_KEY: lockKey, MAINTENANCE_DEFER_MS: '3000', MAINTENANCE_LOCK_TTL_MS: '4000', MAINTENANCE_RECHECK_MS: '1000',
      RUN_SWEEP_INTERVAL_MS: '2000', SCHEDULER_MAX_SLEEP_MS: '1000', DEFAULT_TIMEZONE: 'UTC',
    };
    apps = new Apps<App>(env, dir, appsRoot);
    for (const app of APPS) await apps.spawn(app);
    for (const app of APPS) await apps.healthy(app);
    const a = apps;
    const apiUrl = `http://127.0.0.1:${a.ports.get('api')}`;
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(apiUrl + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const fingerprint = hostKeyFingerprint();
    const destinations = (failing: boolean) => [
      { type: 'local' },
      { type: 'sftp', host: '127.0.0.1', port: peers.sftp.port, username: peers.sftp.username, password: peers.sftp.password, path: '.', hostKeyFingerprint: fingerprint },
      { type: 'smb', server: '127.0.0.1', port: peers.smb.port, share: peers.smb.share, username: peers.smb.username, password: peers.smb.password, security: 'ntlmssp' },
      // A destination that fails for good (wrong password): the run is partially_failed and mails a failure report.
      ...(failing ? [{ type: 'sftp', host: '127.0.0.1', port: peers.sftp.port, username: peers.sftp.username, password: 'wrong-password', path: '.', hostKeyFingerprint: fingerprint }] : []),
    ];
    const runRow = async (id: string) =>
      (await pg.query<{ status: string; artifact_file_name: string | null; artifact_sha256: string | null }>('SELECT status, artifact_file_name, artifact_sha256 FROM runs WHERE id = $1', [id])).rows[0];

    /** One run from POST (or its slot) to final, killing `worker` after `killDelayMs` (null: no kill). */
    async function trial(worker: Worker, index: number, killDelayMs: number | null): Promise<Trial> {
      const label = killDelayMs === null ? 'calibration' : `${worker}-${index}`;
      const name = `Faults ${label} ${randomBytes(3).toString('hex')}`;
      const reportTo = `${tag.replace(/_/g, '-')}-${label}@example.com`;
      const failing = index % 2 === 1;
      const t: Trial = {
        worker, index, name, reportTo, failing, killDelayMs: killDelayMs ?? -1, killedIn: '-', runId: null, status: null, msToFinal: null, problems: [],
        runsLost: 0, duplicateRuns: 0, duplicateDeliveries: 0, partialFiles: 0, shaMismatches: 0, missingFiles: 0, duplicateMails: 0, missingMails: 0, locksLeft: 0, wrongStatus: 0,
      };
      folders.push(join(peers.sftp.home, 'starface-backup', name), join(peers.smb.dir, 'starface-backup', name));
      const base = { name, reportTo, notifyOnSuccess: true, data: { coreData: true, cdrAndVoicemails: true, announcements: false }, destinations: destinations(failing) };
      let t0: number;
      let configurationId: string;
      if (worker === 'scheduler') {
        // The scheduler's part is the slot: the run is due 2 s after saving.
        const slot = new Date(Math.ceil((Date.now() + 2000) / 1000) * 1000);
        const res = await api<{ configuration: { id: string } }>('POST', '/api/v1/backup-configurations', { ...base, interval: 'hourly', startAt: slot.toISOString().replace(/\.\d+Z$/, 'Z'), timezone: 'UTC' });
        configurationId = res.configuration.id;
        t0 = slot.getTime();
      } else {
        const res = await api<{ configuration: { id: string }; run: { id: string } }>('POST', '/api/v1/backup-configurations', { ...base, interval: 'manual', action: 'saveAndRun' });
        configurationId = res.configuration.id;
        t.runId = res.run.id;
        t0 = Date.now();
      }
      const findRun = async () => (await pg.query<{ id: string }>('SELECT id FROM runs WHERE configuration_id = $1 ORDER BY created_at', [configurationId])).rows;
      if (killDelayMs !== null) {
        await sleep(Math.max(0, t0 + killDelayMs - Date.now()));
        const current = t.runId ?? (await findRun())[0]?.id;
        t.killedIn = current ? ((await runRow(current))?.status ?? '?') : 'before the run';
        if (current && FINAL.includes(t.killedIn)) {
          const { rows: sent } = await pg.query('SELECT 1 FROM notifications WHERE subject_id = $1 AND sent_at IS NOT NULL', [current]);
          t.killedIn = sent.length ? 'report sent' : 'reporting';
        }
        await a.kill(worker);
        await a.spawn(worker);
        await a.healthy(worker);
      }
      if (!t.runId) t.runId = (await until(async () => (await findRun())[0]?.id ?? null, 60_000, 100)) ?? null;
      if (!t.runId) {
        t.runsLost++;
        t.problems.push('no run was created for the slot');
        return t;
      }
      const runId = t.runId;
      const final = await until(async () => {
        const r = await runRow(runId);
        return FINAL.includes(r.status) ? r : null;
      }, 120_000, 50);
      if (!final) {
        t.runsLost++;
        t.status = (await runRow(runId)).status;
        t.problems.push(`run not final after 120 s (${t.status})`);
        return t;
      }
      t.msToFinal = Date.now() - t0;
      t.status = final.status;
      const expected = failing ? 'partially_failed' : 'succeeded';
      if (final.status !== expected) {
        t.wrongStatus++;
        t.problems.push(`run ${final.status}, expected ${expected}`);
      }
      if (worker === 'scheduler') {
        const n = (await findRun()).length;
        if (n > 1) {
          t.duplicateRuns += n - 1;
          t.problems.push(`${n} runs for one slot`);
        }
      }
      const dups = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE run_id = $1 GROUP BY destination_id HAVING count(*) > 1`, [runId]);
      t.duplicateDeliveries += dups.rows.reduce((s, r) => s + r.n - 1, 0);
      for (const folder of [join(env.LOCAL_BACKUP_ROOT, 'starface-backup', name), join(peers.sftp.home, 'starface-backup', name), join(peers.smb.dir, 'starface-backup', name)]) {
        const names = existsSync(folder) ? readdirSync(folder) : [];
        const partials = names.filter((n) => n.startsWith('.') && n.includes('.partial'));
        const others = names.filter((n) => !partials.includes(n));
        t.partialFiles += partials.length;
        if (partials.length) t.problems.push(`${folder}: ${partials.join(', ')}`);
        if (others.length > 1) {
          t.duplicateDeliveries += others.length - 1;
          t.problems.push(`${folder}: ${others.join(', ')}`);
        }
        if (!others.includes(final.artifact_file_name ?? '')) {
          t.missingFiles++;
          t.problems.push(`${folder}: no ${final.artifact_file_name}`);
        } else if ((await sha256File(join(folder, final.artifact_file_name!))) !== final.artifact_sha256) {
          t.shaMismatches++;
          t.problems.push(`${folder}: sha256 differs from the run's`);
        }
      }
      const lockFree = await until(async () => (await redis.exists(lockKey)) === 0, 15_000, 100);
      if (!lockFree) {
        t.locksLeft++;
        t.problems.push(`maintenance lock still held by ${await redis.hget(`${lockKey}:holder`, 'holder')}`);
        await redis.del(lockKey); // let the next trial start clean
      }
      return t;
    }

    // Calibration: how long one run lives here, without kills (the kill delays are drawn within it).
    const calibration = await trial('dispatcher', 0, null);
    if (calibration.problems.length) throw new Error(`the calibration run went wrong: ${calibration.problems.join('; ')}`);
    const lifeMs = calibration.msToFinal!;
    console.log(`run life without faults: ${lifeMs} ms; seed ${seed}; ${perWorker} kills per worker (${workers.join(', ')})`);
    const random = rng(seed);
    for (const worker of workers) {
      for (let i = 0; i < perWorker; i++) {
        // The scheduler's window starts 2 s before the slot: it may die before, at or after the
        // claim. The notifier's work starts when the run ends: its window is the second half of
        // the run and the report after it.
        const r = random();
        const delay = Math.round(worker === 'scheduler' ? -2000 + r * (2000 + lifeMs) : worker === 'notifier' ? lifeMs * (0.5 + r) + r * 500 : r * lifeMs);
        const t = await trial(worker, i, delay);
        trials.push(t);
        console.log(`${worker} #${i}: kill at ${delay} ms (${t.killedIn}) -> ${t.status ?? 'no run'} in ${t.msToFinal ?? '-'} ms${t.problems.length ? `  PROBLEMS: ${t.problems.join('; ')}` : ''}`);
      }
    }

    // Mails: let the notifier finish everything (nothing left to publish or handle), then count.
    await until(async () => (await pg.query(`SELECT 1 FROM outbox WHERE published_at IS NULL AND available_at <= now()`)).rows.length === 0, 30_000, 200);
    const mailsTo = async (addr: string) => {
      const names = (await readdir(peers.smtp.maildir).catch(() => [] as string[])).filter((n) => n.endsWith('.eml'));
      let n = 0;
      for (const file of names) {
        const st = await stat(join(peers.smtp.maildir, file)).catch(() => null);
        if (!st || st.mtimeMs < started.getTime() - 1000) continue;
        const raw = await readFile(join(peers.smtp.maildir, file), 'utf8').catch(() => '');
        if (new RegExp(`^To: .*${addr.replace(/[.]/g, '\\.')}`, 'mi').test(raw)) n++;
      }
      return n;
    };
    for (const t of trials) {
      if (!t.runId || !t.status || !FINAL.includes(t.status)) continue;
      const n = (await until(async () => ((await mailsTo(t.reportTo)) >= 1 ? mailsTo(t.reportTo) : null), 30_000, 200)) ?? 0;
      if (n === 0) {
        t.missingMails++;
        t.problems.push('no report mail');
      } else if (n > 1) {
        t.duplicateMails += n - 1;
        t.problems.push(`${n} report mails`);
      }
    }

    // The figures.
    const sum = (ts: Trial[], k: (typeof FIGURES)[number]) => ts.reduce((s, t) => s + t[k], 0);
    const header = ['worker', 'kills', 'phases hit', ...FIGURES, 'median s to final'];
    const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
    for (const worker of workers) {
      const ts = trials.filter((t) => t.worker === worker);
      const phases = [...new Set(ts.map((t) => t.killedIn))].join(', ');
      const times = ts.map((t) => t.msToFinal).filter((x): x is number => x !== null).sort((x, y) => x - y);
      const median = times.length ? (times[Math.floor(times.length / 2)] / 1000).toFixed(1) : '-';
      lines.push(`| ${worker} | ${ts.length} | ${phases} | ${FIGURES.map((k) => sum(ts, k)).join(' | ')} | ${median} |`);
    }
    lines.push(`| **all** | ${trials.length} | | ${FIGURES.map((k) => `**${sum(trials, k)}**`).join(' | ')} | |`);
    console.log(`\n${lines.join('\n')}\n`);
    console.log(`date ${started.toISOString()}, seed ${seed}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, apps from ${appsRoot}`);
    const bad = FIGURES.reduce((s, k) => s + sum(trials, k), 0);
    if (jsonOut) await writeFile(jsonOut, JSON.stringify({ seed, perWorker, lifeMs, date: started.toISOString(), trials, totals: Object.fromEntries(FIGURES.map((k) => [k, sum(trials, k)])) }, null, 2));
    if (bad > 0) {
      console.log(`FAILED: ${bad} invariant violations (logs: ${dir})`);
      process.exitCode = 1;
    }
  } finally {
    await apps?.stop();
    await redis.del(lockKey, `${lockKey}:holder`).catch(() => undefined);
    redis.disconnect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pg.query(`DROP SCHEMA IF EXISTS "${pbxSchema}" CASCADE`).catch(() => undefined);
    await pg.end();
    await deleteNamespace(ns).catch(() => undefined);
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
    if (process.exitCode || process.env.KEEP_FAULTS_DIR) console.log(`logs kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

async function deleteNamespace(namespace: string): Promise<void> {
  const conn = await amqpConnect(urls.amqp);
  const ch = await conn.createChannel();
  try {
    for (const q of Object.keys(SUBSCRIPTIONS)) {
      const base = namespace + q;
      for (const n of [base, base + DLQ_SUFFIX, ...Array.from({ length: 10 }, (_, i) => `${base}${RETRY_SUFFIX}${i + 1}`)]) await ch.deleteQueue(n);
    }
    for (const ex of Object.values(EXCHANGES)) await ch.deleteExchange(namespace + ex);
  } finally {
    await ch.close().catch(() => undefined);
    await conn.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

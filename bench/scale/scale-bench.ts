/**
 * bench/scale (issue #21): dispatchers on several hosts that share no filesystem — only
 * Postgres, RabbitMQ, Redis and S3 (the artifact store) over the network. The hosts are Linux
 * network namespaces on a bridge (virtual-hosts.ts; needs root): host `a` runs the api,
 * scheduler, packer and notifier, hosts `b`, `c` (and `d`) one dispatcher each, every host with
 * its own ARTIFACT_DIR.
 *
 *   npm run bench:scale -- [--scenario exactly-once|throughput|all] [--runs 30] [--archives 12]
 *                          [--archive-mb 10] [--mbit 10] [--json out.json]
 *
 * exactly-once: `--runs` runs × 3 destinations (SFTP, Windows share, e-mail) delivered by the
 *   dispatchers on b and c; once enough runs are done, b's dispatcher is killed (-9) while it is
 *   sending an archive to the SFTP server or the share; c must finish it. Figures that must be
 *   0: runs not succeeded, deliveries per (run, destination) other than one, files missing,
 *   extra or with the wrong sha256, partial files, mails missing or doubled. The kill must have
 *   hit an upload (`killedMidUpload`).
 * throughput: each host's uplink limited to `--mbit` Mbit/s (tc tbf), `--archives` archives of
 *   about `--archive-mb` MB to SFTP, with 1, 2 and 3 dispatcher hosts; delivered MB/s and the
 *   speed-up against one host (goal: ≥ 1.8x with 2, ≥ 2.5x with 3).
 * Exit code 0 when every exactly-once figure is 0 (and the kill hit an upload).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { link, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import { Client } from 'pg';
import { migrateDatabase } from '@pbx/persistence';
import { generateSpeechWav, migratePbxSchema, SeededRandom, seedPbx, WAV_HEADER_BYTES, WAV_SAMPLE_RATE } from '@pbx/pbx-source';
import { Apps, hostKeyFingerprint, peers, sha256File, until, urls } from '../common/bench-apps';
import { VirtualNetwork, type RelayedConnection } from './virtual-hosts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const scenario = arg('scenario') ?? 'all';
const runsWanted = Number(arg('runs') ?? 30);
const archives = Number(arg('archives') ?? 12);
const archiveMb = Number(arg('archive-mb') ?? 10);
const mbit = Number(arg('mbit') ?? 10);
const jsonOut = arg('json');
if (!['exactly-once', 'throughput', 'all'].includes(scenario)) throw new Error(`--scenario: exactly-once, throughput or all, not ${scenario}`);

const MiB = 1024 * 1024;
const FINAL = ['succeeded', 'partially_failed', 'failed', 'cancelled'];
const port = (url: string, fallback: number) => Number(new URL(url).port || fallback);
const PORTS = {
  pg: port(urls.database, 5432),
  amqp: port(urls.amqp, 5672),
  redis: port(urls.redis, 6379),
};
const viaGateway = (url: string, gateway: string) => {
  const u = new URL(url);
  u.hostname = gateway;
  return u.toString().replace(/\/$/, '');
};

interface Setup {
  tag: string;
  dir: string;
  net: VirtualNetwork;
  apps: Apps;
  pg: Client;
  api: <T>(method: string, path: string, body?: unknown) => Promise<T>;
  cleanup: () => Promise<void>;
}

/** Own schemas, AMQP namespace, lock key, S3 prefix and folders; a PBX whose voicemails make an archive of about `archiveBytes`. */
async function setUp(label: string, hostNames: string[], archiveBytes: number): Promise<Setup> {
  const tag = `scale_${label}_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'pbx-bench-scale-'));
  const schema = tag;
  const pbxSchema = `${tag}_pbx`;
  const token = `bench-${randomBytes(12).toString('hex')}`;
  const pg = new Client({ connectionString: urls.database, options: `-c search_path="${schema}"` });
  await pg.connect();
  await pg.query(`CREATE SCHEMA "${schema}"`);
  await pg.query(`CREATE SCHEMA "${pbxSchema}"`);
  await migrateDatabase({ url: urls.database, schema });
  await migratePbxSchema({ databaseUrl: urls.database, schema: pbxSchema });
  const dataDir = join(dir, 'pbx');
  const voicemails = 4;
  await seedPbx({ databaseUrl: urls.database, schema: pbxSchema, dataDir, users: 5, cdr: 200, voicemails, announcements: 0, minAudioBytes: 4_000, maxAudioBytes: 8_000 });
  // The archive is mostly voicemail audio, stored (SAR_AUDIO_DEFLATE_LEVEL 0): hard links to one recording.
  const wav = generateSpeechWav(SeededRandom.derive(21, 1), Math.max(64 * 1024, Math.round(archiveBytes / voicemails)));
  await writeFile(join(dir, 'big.wav'), wav);
  const { rows } = await pg.query<{ file_name: string }>(`SELECT file_name FROM "${pbxSchema}".voicemails`);
  for (const { file_name } of rows) {
    await rm(join(dataDir, file_name));
    await link(join(dir, 'big.wav'), join(dataDir, file_name));
  }
  await pg.query(`UPDATE "${pbxSchema}".voicemails SET size_bytes = $1, duration_s = $2`, [wav.length, Math.round((wav.length - WAV_HEADER_BYTES) / 2 / WAV_SAMPLE_RATE)]);

  const net = VirtualNetwork.create(hostNames);
  const g = net.gateway;
  for (const p of [PORTS.pg, PORTS.amqp, PORTS.redis, peers.sftp.port, peers.smb.port, peers.smtp.port, peers.s3.port]) await net.relay(p);
  const env: Record<string, string> = {
    NODE_ENV: 'test', LOG_LEVEL: 'info', DEFAULT_TIMEZONE: 'UTC',
    DATABASE_URL: viaGateway(urls.database, g), DATABASE_SCHEMA: schema,
    PBX_DATABASE_URL: viaGateway(urls.database, g), PBX_DATABASE_SCHEMA: pbxSchema, PBX_DATA_DIR: dataDir,
    AMQP_URL: viaGateway(urls.amqp, g), AMQP_NAMESPACE: `${tag.replace(/_/g, '-')}.`, AMQP_RETRY_DELAY_MS: '200', AMQP_MAX_ATTEMPTS: '3',
    // One message in hand per dispatcher: a slow uplink must not hoard deliveries another host could send.
    AMQP_PREFETCH: '1',
    DELIVERY_RETRY_FIRST_DELAY_MS: '200', DELIVERY_RETRY_MAX_DELAY_MS: '1000', DELIVERY_RETRY_FOR_MS: '120000',
    DESTINATION_CONNECT_TIMEOUT_MS: '5000', DESTINATION_IDLE_TIMEOUT_MS: '20000',
    REDIS_URL: viaGateway(urls.redis, g),
    ARTIFACT_STORE: 's3', S3_ENDPOINT: `http://${g}:${peers.s3.port}`, S3_REGION: peers.s3.region, S3_BUCKET: peers.s3.bucket,
    S3_PREFIX: `${tag}/`, S3_ACCESS_KEY_ID: peers.s3.accessKeyId, S3_SECRET_ACCESS_KEY: peers.s3.secretAccessKey, S3_FORCE_PATH_STYLE: 'true',
    SMTP_URL: `smtp://${g}:${peers.smtp.port}`, MAIL_FROM: 'pbx-backup-scale <scale@localhost>',
    SECRETS_KEY: randomBytes(32).toString('hex'), ADMIN_API_TOKEN: token,
    MAINTENANCE_LOCK_KEY: `${tag}:lock`, MAINTENANCE_DEFER_MS: '3000', MAINTENANCE_LOCK_TTL_MS: '4000', MAINTENANCE_RECHECK_MS: '500',
    RUN_SWEEP_INTERVAL_MS: '2000', SCHEDULER_MAX_SLEEP_MS: '1000',
    DOWNLOAD_WINDOW_MS: '0',
  };
  const apps = new Apps(env, dir);
  for (const name of hostNames) {
    const host = net.host(name);
    // No shared filesystem for artifacts: every host has its own folder.
    const hostDirs = { ARTIFACT_DIR: join(dir, `host-${name}`, 'artifacts'), LOCAL_BACKUP_ROOT: join(dir, `host-${name}`, 'backups'), USB_MOUNT_ROOT: join(dir, `host-${name}`, 'usb') };
    mkdirSync(hostDirs.USB_MOUNT_ROOT, { recursive: true });
    if (name === 'a') for (const app of ['api', 'scheduler', 'packer', 'notifier']) apps.define(app, app, { host, env: hostDirs });
    else apps.define(`dispatcher-${name}`, 'dispatcher', { host, env: hostDirs });
  }
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(apps.url('api') + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const cleanup = async () => {
    await apps.stop();
    net.destroy();
    await pg.query(`DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined);
    await pg.query(`DROP SCHEMA "${pbxSchema}" CASCADE`).catch(() => undefined);
    await pg.end();
    const conn = await amqpConnect(urls.amqp).catch(() => null);
    if (conn) {
      // The namespace's queues: every queue the apps declared starts with it.
      const ch = await conn.createChannel();
      for (const q of ['scheduler', 'packer', 'dispatcher', 'notifier', 'api']) {
        for (const suffix of ['', '.retry', '.dlq']) await ch.deleteQueue(`${env.AMQP_NAMESPACE}${q}.jobs.v1${suffix}`).catch(() => undefined);
      }
      await conn.close().catch(() => undefined);
    }
    if (process.env.KEEP_SCALE_DIR) console.log(`logs kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  };
  return { tag, dir, net, apps, pg, api, cleanup };
}

interface RunRow { id: string; status: string; artifact_file_name: string | null; artifact_sha256: string | null; artifact_size: string | null }

async function waitFinal(pg: Client, ids: string[], timeoutMs: number): Promise<RunRow[]> {
  const rows = await until(async () => {
    const { rows } = await pg.query<RunRow>('SELECT id, status, artifact_file_name, artifact_sha256, artifact_size FROM runs WHERE id = ANY($1::uuid[])', [ids]);
    return rows.length === ids.length && rows.every((r) => FINAL.includes(r.status)) ? rows : null;
  }, timeoutMs, 200);
  if (rows) return rows;
  return (await pg.query<RunRow>('SELECT id, status, artifact_file_name, artifact_sha256, artifact_size FROM runs WHERE id = ANY($1::uuid[])', [ids])).rows;
}

export interface ExactlyOnceReport {
  runs: number;
  killedMidUpload: boolean;
  killedAfterRuns: number;
  /** Deliveries that took more than one attempt (the one b was sending when it died, at least). */
  deliveriesRetried: number;
  msTotal: number;
  figures: Record<'runsNotSucceeded' | 'deliveriesNotOnce' | 'missingFiles' | 'extraFiles' | 'shaMismatches' | 'partialFiles' | 'mailsMissing' | 'mailsDoubled', number>;
  problems: string[];
}

async function exactlyOnce(): Promise<ExactlyOnceReport> {
  const s = await setUp('once', ['a', 'b', 'c'], 3 * MiB);
  const { net, apps, pg, api } = s;
  try {
    // b and c send at most 40 Mbit/s each: an upload of 3 MB takes long enough to be cut.
    net.limitUplink('b', 40);
    net.limitUplink('c', 40);
    for (const label of ['api', 'scheduler', 'packer', 'notifier', 'dispatcher-b', 'dispatcher-c']) await apps.spawn(label);
    for (const label of ['api', 'scheduler', 'packer', 'notifier', 'dispatcher-b', 'dispatcher-c']) await apps.healthy(label);
    const name = `Scale ${randomBytes(3).toString('hex')}`;
    const mailTo = `${s.tag.replace(/_/g, '-')}@example.com`;
    const g = net.gateway;
    const { configuration } = await api<{ configuration: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name, reportTo: `report-${mailTo}`, interval: 'manual', data: { coreData: true, cdrAndVoicemails: true, announcements: false },
      destinations: [
        { type: 'sftp', host: g, port: peers.sftp.port, username: peers.sftp.username, password: peers.sftp.password, path: '.', hostKeyFingerprint: hostKeyFingerprint() },
        { type: 'smb', server: g, port: peers.smb.port, share: peers.smb.share, username: peers.smb.username, password: peers.smb.password, security: 'ntlmssp' },
        { type: 'email', to: mailTo },
      ],
    });
    const t0 = Date.now();
    const ids: string[] = [];
    let killedMidUpload = false;
    let killedAfterRuns = -1;
    let killing = false;
    const uploadPorts = new Set([peers.sftp.port, peers.smb.port]);
    const done = async () => Number((await pg.query<{ n: string }>(`SELECT count(*) n FROM runs WHERE configuration_id = $1 AND status = 'succeeded'`, [configuration.id])).rows[0].n);
    let succeededSoFar = 0;
    const poll = setInterval(() => void done().then((n) => (succeededSoFar = n)).catch(() => undefined), 200);
    // The kill: once a third of the runs are done, the moment b has sent 512 KiB of an archive.
    // "Sending an archive": a live connection of b's to the SFTP server or the share that has
    // carried 512 KiB and is passing a large piece right now (requests alone are small).
    net.on('data', (conn: RelayedConnection) => {
      if (killing || conn.from !== 'b' || !uploadPorts.has(conn.port) || conn.bytesFromHost < 512 * 1024 || conn.lastChunkBytes < 8 * 1024 || succeededSoFar < runsWanted / 3) return;
      killing = true;
      killedAfterRuns = succeededSoFar;
      killedMidUpload = !conn.closed;
      void apps.kill('dispatcher-b');
    });
    for (let i = 0; i < runsWanted; i++) ids.push((await api<{ run: { id: string } }>('POST', `/api/v1/backup-configurations/${configuration.id}/runs`)).run.id);
    const rows = await waitFinal(pg, ids, 15 * 60_000);
    clearInterval(poll);
    const msTotal = Date.now() - t0;
    const problems: string[] = [];
    const figures: ExactlyOnceReport['figures'] = { runsNotSucceeded: 0, deliveriesNotOnce: 0, missingFiles: 0, extraFiles: 0, shaMismatches: 0, partialFiles: 0, mailsMissing: 0, mailsDoubled: 0 };
    const problem = (figure: keyof ExactlyOnceReport['figures'], what: string) => {
      figures[figure]++;
      problems.push(what);
    };
    for (const r of rows) if (r.status !== 'succeeded') problem('runsNotSucceeded', `run ${r.id} ${r.status}`);
    figures.runsNotSucceeded += runsWanted - rows.length;
    const { rows: counts } = await pg.query<{ run_id: string; destination_id: string; n: string; ok: string }>(
      `SELECT run_id, destination_id, count(*) n, count(*) FILTER (WHERE status = 'succeeded') ok FROM deliveries WHERE run_id = ANY($1::uuid[]) GROUP BY 1, 2`, [ids]);
    for (const c of counts) if (c.n !== '1' || c.ok !== '1') problem('deliveriesNotOnce', `run ${c.run_id} destination ${c.destination_id}: ${c.n} deliveries, ${c.ok} succeeded`);
    if (counts.length !== ids.length * 3) figures.deliveriesNotOnce += Math.abs(ids.length * 3 - counts.length);
    const { rows: retried } = await pg.query<{ n: string }>(`SELECT count(*) n FROM deliveries WHERE run_id = ANY($1::uuid[]) AND attempts > 1`, [ids]);
    const deliveriesRetried = Number(retried[0].n);
    const expected = new Map(rows.filter((r) => r.artifact_file_name).map((r) => [r.artifact_file_name!, r.artifact_sha256!]));
    for (const folder of [join(peers.sftp.home, 'starface-backup', name), join(peers.smb.dir, 'starface-backup', name)]) {
      const files = await readdir(folder).catch(() => [] as string[]);
      for (const f of files) {
        if (f.startsWith('.') || f.includes('.partial')) problem('partialFiles', `partial ${join(folder, f)}`);
        else if (!expected.has(f)) problem('extraFiles', `extra ${join(folder, f)}`);
        else if ((await sha256File(join(folder, f))) !== expected.get(f)) problem('shaMismatches', `sha256 ${join(folder, f)}`);
      }
      for (const f of expected.keys()) if (!files.includes(f)) problem('missingFiles', `missing ${join(folder, f)}`);
      await rm(folder, { recursive: true, force: true });
    }
    // One mail per run to the e-mail destination (attachments named after the run's file).
    const mails = await until(async () => {
      const names = (await readdir(peers.smtp.maildir).catch(() => [] as string[])).filter((n) => n.endsWith('.eml'));
      const found = new Map<string, number>();
      for (const n of names) {
        const raw = await readFile(join(peers.smtp.maildir, n), 'utf8').catch(() => '');
        if (!raw.includes(mailTo) || raw.includes(`report-${mailTo}`)) continue;
        for (const f of expected.keys()) if (raw.includes(f)) found.set(f, (found.get(f) ?? 0) + 1);
      }
      return found.size >= expected.size ? found : null;
    }, 30_000, 500);
    for (const f of expected.keys()) {
      const n = mails?.get(f) ?? 0;
      if (n === 0) problem('mailsMissing', `no mail with ${f}`);
      if (n > 1) problem('mailsDoubled', `${n} mails with ${f}`);
    }
    if (!killedMidUpload) problems.push('the kill did not hit an upload of b');
    return { runs: rows.length, killedMidUpload, killedAfterRuns, deliveriesRetried, msTotal, figures, problems };
  } finally {
    await s.cleanup();
  }
}

export interface ThroughputRow { dispatcherHosts: number; archives: number; mb: number; seconds: number; mbPerSecond: number; speedup: number }

async function throughput(): Promise<ThroughputRow[]> {
  const out: ThroughputRow[] = [];
  const s = await setUp('tput', ['a', 'b', 'c', 'd'], archiveMb * 1e6);
  const { net, apps, pg, api } = s;
  try {
    for (const h of ['b', 'c', 'd']) net.limitUplink(h, mbit);
    for (const label of ['api', 'scheduler', 'packer', 'notifier']) await apps.spawn(label);
    for (const label of ['api', 'scheduler', 'packer', 'notifier']) await apps.healthy(label);
    for (const n of [1, 2, 3]) {
      const dispatchers = ['b', 'c', 'd'].slice(0, n).map((h) => `dispatcher-${h}`);
      const name = `Scale ${n} ${randomBytes(3).toString('hex')}`;
      const { configuration } = await api<{ configuration: { id: string } }>('POST', '/api/v1/backup-configurations', {
        name, reportTo: 'scale@example.com', interval: 'manual', data: { coreData: false, cdrAndVoicemails: true, announcements: false },
        destinations: [{ type: 'sftp', host: net.gateway, port: peers.sftp.port, username: peers.sftp.username, password: peers.sftp.password, path: '.', hostKeyFingerprint: hostKeyFingerprint() }],
      });
      // Packed first, with no dispatcher running: the figure is the delivery's, not the packer's.
      const ids: string[] = [];
      for (let i = 0; i < archives; i++) ids.push((await api<{ run: { id: string } }>('POST', `/api/v1/backup-configurations/${configuration.id}/runs`)).run.id);
      const packed = await until(async () => {
        const { rows } = await pg.query<{ n: string }>(`SELECT count(*) n FROM runs WHERE id = ANY($1::uuid[]) AND status = 'dispatching'`, [ids]);
        return Number(rows[0].n) === ids.length;
      }, 10 * 60_000, 250);
      if (!packed) throw new Error(`the ${archives} archives were not packed in time`);
      for (const d of dispatchers) await apps.spawn(d);
      const rows = await waitFinal(pg, ids, 20 * 60_000);
      const bad = rows.filter((r) => r.status !== 'succeeded');
      if (bad.length) throw new Error(`${bad.length} runs did not succeed with ${n} dispatcher host(s)`);
      // From the first upload's start to the last one's end, as the deliveries recorded them.
      const { rows: span } = await pg.query<{ seconds: number }>(
        `SELECT extract(epoch FROM max(finished_at) - min(started_at))::float AS seconds FROM deliveries WHERE run_id = ANY($1::uuid[])`, [ids]);
      const seconds = span[0].seconds;
      const mb = rows.reduce((sum, r) => sum + Number(r.artifact_size), 0) / 1e6;
      const row = { dispatcherHosts: n, archives, mb: Math.round(mb), seconds: Math.round(seconds * 10) / 10, mbPerSecond: Math.round((mb / seconds) * 100) / 100, speedup: 1 };
      row.speedup = out.length ? Math.round((row.mbPerSecond / out[0].mbPerSecond) * 100) / 100 : 1;
      out.push(row);
      console.log(`${n} dispatcher host(s): ${row.mb} MB in ${row.seconds} s = ${row.mbPerSecond} MB/s (${row.speedup}x)`);
      for (const d of dispatchers) await apps.kill(d);
      await rm(join(peers.sftp.home, 'starface-backup', name), { recursive: true, force: true });
    }
    return out;
  } finally {
    await s.cleanup();
  }
}

async function main(): Promise<void> {
  const report: { exactlyOnce?: ExactlyOnceReport; throughput?: ThroughputRow[]; uplinkMbit: number } = { uplinkMbit: mbit };
  let failed = false;
  if (scenario !== 'throughput') {
    report.exactlyOnce = await exactlyOnce();
    const e = report.exactlyOnce;
    console.log(`exactly-once: ${e.runs} runs × 3 destinations in ${(e.msTotal / 1000).toFixed(1)} s; b killed mid-upload: ${e.killedMidUpload} (after ${e.killedAfterRuns} runs), deliveries retried: ${e.deliveriesRetried}`);
    console.log(Object.entries(e.figures).map(([k, v]) => `${k} ${v}`).join(', '));
    for (const p of e.problems) console.log(`  problem: ${p}`);
    failed = Object.values(e.figures).some((v) => v > 0) || !e.killedMidUpload;
  }
  if (scenario !== 'exactly-once') report.throughput = await throughput();
  if (jsonOut) await writeFile(jsonOut, JSON.stringify(report, null, 2));
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 2;
});

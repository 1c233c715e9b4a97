// `npm run demo [-- --all]`: with the stack running (`npm start` in another terminal), creates a
// configuration "Demo <timestamp>" through the REST API with action saveAndRun, follows the run
// to its end, shows where the .sar landed and verifies the delivered file with verifySar.
//
//   --all   also adds every other destination kind reachable from here: the SFTP/SMB/SMTP test
//           peers of scripts/test-peers.sh (when they answer), USB (when USB_MOUNT_ROOT holds a
//           mounted volume), Dropbox (when DROPBOX_API_BASE and a DEMO_DROPBOX_* token are set).
//
// Environment (read once, below): API_URL or PORT, ADMIN_API_TOKEN (else ./var/admin-token),
// LOCAL_BACKUP_ROOT, USB_MOUNT_ROOT, USB_ALLOW_UNMOUNTED, SMTP_URL, DROPBOX_API_BASE,
// DEMO_DROPBOX_REFRESH_TOKEN / DEMO_DROPBOX_AUTHORIZATION_CODE, DEMO_TIMEOUT_MS.
//
// Exit codes: 0 run succeeded and the file verified; 1 the run failed (or partly) or the file
// did not verify; 2 the API is not reachable or refused the request; 3 the run was deferred or
// did not finish in time.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { isMountPoint } from '@pbx/destinations/adapters';
import { verifySar } from '@pbx/sar';

// ------------------------------------------------------------------ settings (env read once)

interface DemoSettings {
  apiUrl: string;
  token: string | undefined;
  tokenSource: string;
  localBackupRoot: string;
  usbMountRoot: string;
  usbAllowUnmounted: boolean;
  smtpUrl: string;
  dropboxApiBase: string | undefined;
  dropboxRefreshToken: string | undefined;
  dropboxAuthorizationCode: string | undefined;
  timeoutMs: number;
  all: boolean;
}

/**
 * The test peers of scripts/test-peers.sh (copied from libs/testing/src/peers.ts: scripts are
 * production code and must not import @pbx/testing). Used only when the peer answers.
 */
const PEERS = {
  host: '127.0.0.1',
  sftp: { port: 2222, username: 'sftpuser', password: 'sftppass', path: '.' },
  smb: { port: 4445, username: 'smbuser', password: 'smbpass', share: 'backup', security: 'ntlmv2' },
  smtpSinkPort: 2525,
} as const;

const FINAL_STATUSES = new Set(['succeeded', 'partially_failed', 'failed']);
const POLL_MS = 500;

async function readSettings(argv: string[], env: NodeJS.ProcessEnv): Promise<DemoSettings> {
  const port = env.PORT || '3000';
  const apiUrl = (env.API_URL || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  let token = env.ADMIN_API_TOKEN || undefined;
  let tokenSource = 'ADMIN_API_TOKEN';
  if (!token) {
    const file = resolve('var/admin-token');
    tokenSource = file;
    token = (await readFile(file, 'utf8').catch(() => '')).trim() || undefined;
  }
  return {
    apiUrl,
    token,
    tokenSource,
    localBackupRoot: resolve(env.LOCAL_BACKUP_ROOT || './var/backups'),
    usbMountRoot: resolve(env.USB_MOUNT_ROOT || './var/usb'),
    usbAllowUnmounted: ['true', '1', 'yes'].includes(env.USB_ALLOW_UNMOUNTED ?? ''),
    smtpUrl: env.SMTP_URL || 'smtp://127.0.0.1:25',
    dropboxApiBase: env.DROPBOX_API_BASE || undefined,
    dropboxRefreshToken: env.DEMO_DROPBOX_REFRESH_TOKEN || undefined,
    dropboxAuthorizationCode: env.DEMO_DROPBOX_AUTHORIZATION_CODE || undefined,
    timeoutMs: Number(env.DEMO_TIMEOUT_MS) > 0 ? Number(env.DEMO_TIMEOUT_MS) : 15 * 60_000,
    all: argv.includes('--all'),
  };
}

// ------------------------------------------------------------------ API client

/** Stops the demo with a message and an exit code (no stack trace: these are expected). */
class DemoExit extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Delivery {
  destinationId: string;
  type: string;
  target: string;
  status: string;
  code: string | null;
  attempts: number;
  error: string | null;
  location: string | null;
  bytesSent?: number;
}

interface Run {
  id: string;
  status: string;
  configurationName: string;
  deferredUntil: string | null;
  deferrals: { at: string; until: string; heldBy: string | null }[];
  artifact: { fileName: string; size: number | null; sha256: string | null; removedAt: string | null } | null;
  progress: { bytes: number; entriesDone: number; entriesTotal: number | null } | null;
  deliveries: Delivery[];
  error: string | null;
}

interface Problem {
  status?: number;
  detail?: string;
  errors?: { field: string; message: string }[];
}

class Api {
  constructor(private readonly settings: DemoSettings) {}

  get base(): string {
    return this.settings.apiUrl;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(path, {
      method,
      headers: {
        ...(this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new DemoExit(`${method} ${path} answered ${res.status}: ${describeProblem(text, res.status)}`, 2);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new DemoExit(
        `The API is not reachable at ${this.base} (${causeOf(err)}).\n` +
          `Start the stack with "npm start" in another terminal (or set API_URL / PORT to where it runs).`,
        2,
      );
    }
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function describeProblem(text: string, status: number): string {
  try {
    const p = JSON.parse(text) as Problem;
    const fields = (p.errors ?? []).map((e) => `\n    ${e.field}: ${e.message}`).join('');
    const hint = status === 401 ? '\n  (wrong token: set ADMIN_API_TOKEN to the stack\'s token, or run the demo from the directory holding var/admin-token)' : '';
    return `${p.detail ?? text}${fields}${hint}`;
  } catch {
    return text.slice(0, 500);
  }
}

// ------------------------------------------------------------------ destinations

type DestinationBody = Record<string, unknown> & { type: string };

/** True when something accepts TCP connections on host:port within a second. */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** The first directory below USB_MOUNT_ROOT that is a mounted volume (what the USB adapter accepts). */
async function findUsbVolume(settings: DemoSettings): Promise<string | undefined> {
  const names = await readdir(settings.usbMountRoot).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const dir = join(settings.usbMountRoot, name);
    if (!(await stat(dir).catch(() => null))?.isDirectory()) continue;
    if (settings.usbAllowUnmounted || (await isMountPoint(dir).catch(() => false))) return name;
  }
  return undefined;
}

interface TestReport {
  ok: boolean;
  code?: string;
  hostKeyFingerprint?: string;
  steps: { step: string; ok: boolean; detail?: string }[];
}

function testDestination(api: Api, destination: DestinationBody): Promise<TestReport> {
  return api.request<TestReport>('POST', '/api/v1/destinations/test', { destination });
}

function failure(report: TestReport): string {
  const step = report.steps.find((s) => !s.ok);
  return [report.code, step && `${step.step}: ${step.detail ?? 'failed'}`].filter(Boolean).join(', ') || 'no detail';
}

async function extraDestinations(api: Api, settings: DemoSettings): Promise<DestinationBody[]> {
  const out: DestinationBody[] = [];
  const skip = (kind: string, why: string) => console.log(`  - ${kind.padEnd(8)} skipped: ${why}`);
  const add = (kind: string, what: string, body: DestinationBody) => {
    console.log(`  + ${kind.padEnd(8)} ${what}`);
    out.push(body);
  };

  if (await answers(PEERS.host, PEERS.sftp.port)) {
    const sftp = { type: 'sftp', host: PEERS.host, port: PEERS.sftp.port, username: PEERS.sftp.username, password: PEERS.sftp.password, path: PEERS.sftp.path };
    // Trust on first use, made explicit: a test without a pinned key fails with hostKeyMismatch
    // but reports the server's key; a second test with that key pinned must then pass.
    const first = await testDestination(api, sftp);
    const fingerprint = first.hostKeyFingerprint;
    const pinned = fingerprint ? await testDestination(api, { ...sftp, hostKeyFingerprint: fingerprint }) : undefined;
    if (!fingerprint) skip('sftp', `the destination test reported no host key (${failure(first)})`);
    else if (!pinned?.ok) skip('sftp', `the destination test with host key ${fingerprint} pinned failed (${pinned ? failure(pinned) : '?'})`);
    else add('sftp', `${PEERS.sftp.username}@${PEERS.host}:${PEERS.sftp.port}, host key ${fingerprint} pinned (destination test ok)`, { ...sftp, hostKeyFingerprint: fingerprint });
  } else skip('sftp', `no SFTP peer on ${PEERS.host}:${PEERS.sftp.port} (sudo scripts/test-peers.sh sshd)`);

  if (await answers(PEERS.host, PEERS.smb.port)) {
    add('smb', `//${PEERS.host}:${PEERS.smb.port}/${PEERS.smb.share} as ${PEERS.smb.username} (${PEERS.smb.security})`, {
      type: 'smb',
      server: PEERS.host,
      port: PEERS.smb.port,
      share: PEERS.smb.share,
      username: PEERS.smb.username,
      password: PEERS.smb.password,
      security: PEERS.smb.security,
    });
  } else skip('smb', `no Samba peer on ${PEERS.host}:${PEERS.smb.port} (sudo scripts/test-peers.sh samba)`);

  // The stack sends mail through its own SMTP_URL; the demo can only check that it answers.
  const smtp = new URL(settings.smtpUrl);
  const smtpPort = Number(smtp.port) || (smtp.protocol === 'smtps:' ? 465 : 25);
  if (await answers(smtp.hostname, smtpPort)) {
    add('email', `demo@example.com via ${smtp.hostname}:${smtpPort}`, { type: 'email', to: 'demo@example.com' });
  } else {
    const sink = (await answers(PEERS.host, PEERS.smtpSinkPort))
      ? ` (the SMTP sink answers on ${PEERS.smtpSinkPort}: run the stack and the demo with SMTP_URL=smtp://${PEERS.host}:${PEERS.smtpSinkPort})`
      : '';
    skip('email', `nothing answers on SMTP_URL ${smtp.hostname}:${smtpPort}${sink}`);
  }

  const usb = await findUsbVolume(settings);
  if (usb) add('usb', `${join(settings.usbMountRoot, usb)}`, { type: 'usb', device: usb });
  else skip('usb', `no mounted volume below USB_MOUNT_ROOT ${settings.usbMountRoot}`);

  if (!settings.dropboxApiBase) skip('dropbox', 'DROPBOX_API_BASE is not set');
  else if (settings.dropboxRefreshToken) add('dropbox', `via ${settings.dropboxApiBase} (refresh token)`, { type: 'dropbox', refreshToken: settings.dropboxRefreshToken });
  else if (settings.dropboxAuthorizationCode) add('dropbox', `via ${settings.dropboxApiBase} (authorization code)`, { type: 'dropbox', authorizationCode: settings.dropboxAuthorizationCode });
  else skip('dropbox', 'set DEMO_DROPBOX_REFRESH_TOKEN or DEMO_DROPBOX_AUTHORIZATION_CODE');

  return out;
}

// ------------------------------------------------------------------ following the run

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function progressLine(run: Run): string {
  const p = run.progress;
  const packed = p ? `packed ${mib(p.bytes)} (${p.entriesDone}/${p.entriesTotal ?? '?'} entries)` : 'packed -';
  const done = run.deliveries.filter((d) => d.status !== 'pending').length;
  const sending = run.deliveries
    .filter((d) => d.status === 'pending' && d.bytesSent !== undefined)
    .map((d) => `${d.type} ${mib(d.bytesSent ?? 0)}`)
    .join(', ');
  const deliveries = run.deliveries.length ? `deliveries ${done}/${run.deliveries.length} done${sending ? ` (sending: ${sending})` : ''}` : 'deliveries -';
  return `${run.status.padEnd(16)} ${packed}, ${deliveries}`;
}

async function followRun(api: Api, runId: string, timeoutMs: number): Promise<Run> {
  const tty = process.stdout.isTTY;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const run = await api.request<Run>('GET', `/api/v1/runs/${runId}`);
    const line = progressLine(run);
    if (line !== last) {
      // On a terminal one line is rewritten in place; in a log, every change is its own line.
      if (tty) process.stdout.write(`\r\x1b[2K  ${line}`);
      else console.log(`  ${line}`);
      last = line;
    }
    if (FINAL_STATUSES.has(run.status)) {
      if (tty) process.stdout.write('\n');
      return run;
    }
    if (run.status === 'deferred') {
      if (tty) process.stdout.write('\n');
      const d = run.deferrals.at(-1);
      throw new DemoExit(
        `The run was deferred until ${run.deferredUntil ?? d?.until ?? '?'}: the PBX maintenance lock is held${d?.heldBy ? ` by ${d.heldBy}` : ''} ` +
          `(archiving, or another run packing). It starts by itself then; follow it with GET ${api.base}/api/v1/runs/${runId}`,
        3,
      );
    }
    if (Date.now() > deadline) {
      if (tty) process.stdout.write('\n');
      throw new DemoExit(`The run did not finish within ${Math.round(timeoutMs / 1000)}s (still ${run.status}); are the packer and dispatcher running?`, 3);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// ------------------------------------------------------------------ verification

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Downloads the run's artifact (streamed) to a temp dir, for when the delivered file is not on this machine. */
async function download(api: Api, settings: DemoSettings, runId: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pbx-demo-'));
  const path = join(dir, 'download.sar');
  const res = await api.fetch(`/api/v1/runs/${runId}/download`, {
    headers: { authorization: `Bearer ${settings.token ?? ''}` },
    signal: AbortSignal.timeout(10 * 60_000),
  });
  if (!res.ok || !res.body) throw new DemoExit(`download answered ${res.status}`, 1);
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path));
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function verify(path: string, expectedSha256: string | null | undefined): Promise<boolean> {
  const result = await verifySar(path);
  if (!result.ok) {
    console.log(`  verifySar: FAILED at ${result.badEntry}: ${result.reason}`);
    return false;
  }
  const m = result.manifest;
  const bytes = m.entries.reduce((sum, e) => sum + e.size, 0);
  // The manifest lists every entry but itself; the run's progress counts the archive's entries, manifest included.
  console.log(`  verifySar: OK, ${m.entries.length + 1} entries: the ${m.entries.length} the manifest lists (${mib(bytes)} uncompressed) match its sizes and SHA-256`);
  if (expectedSha256) {
    const actual = await sha256Of(path);
    const same = actual === expectedSha256;
    console.log(`  sha256:    ${actual} ${same ? '= the run\'s artifact' : `!= the run's artifact ${expectedSha256}`}`);
    return same;
  }
  return true;
}

// ------------------------------------------------------------------ main

function timestamp(d = new Date()): string {
  // No ":" — the name becomes a directory on SMB and Dropbox.
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}.${p(d.getMinutes())}.${p(d.getSeconds())}`;
}

async function main(): Promise<number> {
  const settings = await readSettings(process.argv.slice(2), process.env);
  const api = new Api(settings);

  const healthRes = await api.fetch('/health', { signal: AbortSignal.timeout(5000) });
  const health = (await healthRes.json().catch(() => ({}))) as { status?: string; checks?: Record<string, { up: boolean; error?: string }> };
  const checks = Object.entries(health.checks ?? {}).map(([name, c]) => `${name} ${c.up ? 'up' : `DOWN (${c.error ?? '?'})`}`);
  console.log(`API ${api.base}: ${health.status ?? healthRes.status}${checks.length ? ` (${checks.join(', ')})` : ''}`);
  if (!healthRes.ok) throw new DemoExit('The API is up but a dependency is not; fix that first (see docs/operations.md).', 2);
  if (!settings.token) throw new DemoExit(`No API token: set ADMIN_API_TOKEN or run the demo where ${settings.tokenSource} exists (the api writes it at boot).`, 2);

  const name = `Demo ${timestamp()}`;
  console.log(`Destinations of "${name}":`);
  console.log(`  + local    ${join(settings.localBackupRoot, 'starface-backup', name)}`);
  const destinations: DestinationBody[] = [{ type: 'local' }, ...(settings.all ? await extraDestinations(api, settings) : [])];
  if (!settings.all) console.log('  (npm run demo -- --all adds SFTP, SMB, e-mail, USB and Dropbox where reachable)');

  const created = await api.request<{ configuration: { id: string }; run: Run }>('POST', '/api/v1/backup-configurations', {
    name,
    reportTo: 'demo@example.com',
    interval: 'manual',
    data: { coreData: true, cdrAndVoicemails: true, announcements: true },
    destinations,
    action: 'saveAndRun',
  });
  const runId = created.run.id;
  console.log(`Created configuration ${created.configuration.id}; run ${runId}:`);

  const run = await followRun(api, runId, settings.timeoutMs);

  console.log(`\nRun ${run.status}${run.error ? `: ${run.error}` : ''}`);
  if (run.artifact) console.log(`  archive:  ${run.artifact.fileName} (${mib(run.artifact.size ?? 0)}, sha256 ${run.artifact.sha256 ?? '?'})`);
  for (const d of run.deliveries) {
    const where = d.status === 'succeeded' ? d.location : `${d.code ?? 'failed'}: ${d.error ?? ''}`;
    console.log(`  ${d.status === 'succeeded' ? 'OK  ' : 'FAIL'}  ${d.type.padEnd(7)} ${d.target}  ->  ${where}  (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`);
  }

  let verified = false;
  let checkedLocally = false;
  const local = run.deliveries.find((d) => d.type === 'local' && d.status === 'succeeded' && d.location);
  if (local?.location) {
    const localPath = join(settings.localBackupRoot, local.location);
    console.log(`\nThe .sar landed at\n  ${localPath}\n  (delivery location "${local.location}" below LOCAL_BACKUP_ROOT)`);
    if (await stat(localPath).catch(() => null)) {
      verified = await verify(localPath, run.artifact?.sha256);
      checkedLocally = true;
    } else {
      console.log('  not on this machine (is LOCAL_BACKUP_ROOT the stack\'s?); verifying a download instead');
    }
  }
  if (run.artifact && !run.artifact.removedAt) {
    const token = settings.tokenSource === 'ADMIN_API_TOKEN' ? '$ADMIN_API_TOKEN' : `$(cat ${settings.tokenSource})`;
    console.log('\nDownload it (while the artifact is kept, DOWNLOAD_WINDOW_MS):');
    console.log(`  curl -H "Authorization: Bearer ${token}" -o file.sar ${api.base}/api/v1/runs/${run.id}/download`);
    if (!checkedLocally) {
      const file = await download(api, settings, run.id);
      try {
        verified = await verify(file.path, run.artifact.sha256);
      } finally {
        await file.cleanup();
      }
    }
  }

  if (run.status !== 'succeeded') {
    console.log(`\nThe run ${run.status === 'failed' ? 'failed' : 'partly failed'}; see docs/operations.md (troubleshooting by delivery code).`);
    return 1;
  }
  if (!verified) {
    console.log('\nThe delivered archive did not verify.');
    return 1;
  }
  console.log('\nDone: the backup was delivered and verifies.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof DemoExit) {
      console.error(`\n${err.message}`);
      process.exit(err.exitCode);
    }
    console.error(err);
    process.exit(1);
  },
);

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dyingWithParent } from './child-process';
import type { SmbDestinationConfig, SmbSecurity } from './destination-config';
import { connectFailed, DeliveryError, errorMessage, throwIfAborted } from './delivery';
import { dialAddress, type HostAllowlist } from './host-allowlist';
import { idleWatchdog } from './idle-watchdog';
import { parseSmbTarget, smbError, SmbTarget } from './smb-target';

export interface SmbclientOptions {
  /** Path of Samba's `smbclient` (Debian package smbclient). */
  smbclientPath?: string;
  /** Private temp dirs for the credentials file are created below this. */
  tempDir?: string;
  /** Per-request timeout smbclient uses (`-t`, seconds). */
  requestTimeoutSeconds?: number;
  /**
   * smbclient is killed when nothing moved this long (ms; DESTINATION_IDLE_TIMEOUT_MS): no
   * output and, during an upload, no progress through the local file. Covers a silent server
   * while connecting too (DESTINATION_CONNECT_TIMEOUT_MS is not separate for smbclient).
   */
  idleTimeoutMs?: number;
  /** Where servers may be (DESTINATION_HOSTS_ALLOWED); default anywhere. */
  hosts?: HostAllowlist;
}

export interface SmbclientRun {
  output: string;
  exitCode: number | null;
}

/**
 * Security modes → smbclient switches. Kept in one table so docs/destinations.md can mirror it.
 * Every mode pins Kerberos on or off explicitly so a host's smb.conf cannot silently change it.
 */
export const SMB_SECURITY_ARGS: Record<SmbSecurity, readonly string[]> = {
  // NTLMv2 (NTLMSSP), SMB 2.0.2 … 3.1.1, signing when the server asks for it.
  ntlmv2: ['--use-kerberos=off', '--option=client min protocol=SMB2_02', '--option=client ntlmv2 auth=yes'],
  // NTLMv2 (NTLMSSP), SMB3 only, signing required: what current Windows / NAS firmware insist on.
  ntlmssp: ['--use-kerberos=off', '--option=client min protocol=SMB3', '--option=client ntlmv2 auth=yes', '--client-protection=sign'],
  // As ntlmssp, plus SMB3 encryption of every packet.
  'ntlmssp-encrypt': ['--use-kerberos=off', '--option=client min protocol=SMB3', '--option=client ntlmv2 auth=yes', '--client-protection=encrypt'],
  // Kerberos only (needs a krb5 realm the host can reach; the password is used to get a ticket).
  kerberos: ['--use-kerberos=required', '--option=client min protocol=SMB2_10', '--client-protection=sign'],
  // NTLMv1 for very old devices; weak (crackable), no signing. Prefer the SMB2 legacy driver only if smbclient cannot connect either.
  'ntlmv1-legacy': ['--use-kerberos=off', '--option=client min protocol=SMB2_02', '--option=client ntlmv2 auth=no'],
};

/** Quotes one smbclient command argument; refuses what its parser cannot carry. */
export function q(arg: string): string {
  if (/["\x00-\x1f]/.test(arg)) throw new DeliveryError('ioError', `path ${JSON.stringify(arg)} cannot be passed to smbclient`, true);
  return `"${arg}"`;
}

/** First NT_STATUS in smbclient's output that is not in `tolerated`. */
export function firstNtStatus(output: string, tolerated: readonly string[] = []): { status: string; line: string } | null {
  for (const line of output.split('\n')) {
    const m = /\b(NT_STATUS_[A-Z0-9_]+)/.exec(line);
    if (m && !tolerated.includes(m[1]!)) return { status: m[1]!, line: line.trim() };
  }
  return null;
}

/**
 * Runs Samba's smbclient as a child process. Commands go in on stdin (one per line, so ';'
 * in names is harmless); credentials go in an authentication file (mode 0600, private temp
 * dir, deleted afterwards) — never on the command line, where `ps` would show them.
 */
export class SmbclientRunner {
  constructor(private readonly options: SmbclientOptions = {}) {}

  async run(
    config: SmbDestinationConfig,
    commands: string[],
    opts: { signal?: AbortSignal; watchFile?: string; onProgress?: (bytes: number) => void } = {},
  ): Promise<SmbclientRun> {
    throwIfAborted(opts.signal);
    const target = parseSmbTarget(config);
    // Checked on the address smbclient dials (-I); the name stays in the UNC for the server (and Kerberos).
    const address = await dialAddress(this.options.hosts, target.server);
    throwIfAborted(opts.signal);
    const dir = await mkdtemp(join(this.options.tempDir ?? tmpdir(), 'pbx-smb-'));
    try {
      const authFile = join(dir, 'auth');
      await writeFile(authFile, authFileText(target, config.password), { mode: 0o600, flag: 'wx' });
      const args = [
        `//${target.server}/${target.share}`,
        '-p',
        String(target.port),
        ...(address !== target.server ? ['-I', address] : []),
        '-A',
        authFile,
        '-t',
        String(this.options.requestTimeoutSeconds ?? 60),
        ...SMB_SECURITY_ARGS[config.security],
      ];
      return await this.spawn(args, commands, opts);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private spawn(args: string[], commands: string[], opts: { signal?: AbortSignal; watchFile?: string; onProgress?: (bytes: number) => void }): Promise<SmbclientRun> {
    return new Promise((resolve, reject) => {
      // Dies with us: a smbclient outliving a killed dispatcher would finish a partial file nobody renames.
      const cmd = dyingWithParent(this.options.smbclientPath ?? 'smbclient', args);
      const child = spawn(cmd.file, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      const idle = idleWatchdog(this.options.idleTimeoutMs ?? 60_000, 'smbclient', () => child.kill('SIGKILL'));
      child.stdout.setEncoding('utf8').on('data', (d: string) => ((output += d), idle.touch()));
      child.stderr.setEncoding('utf8').on('data', (d: string) => ((output += d), idle.touch()));
      let progressTimer: NodeJS.Timeout | undefined;
      if (opts.watchFile && child.pid) {
        const pid = child.pid;
        const watch = opts.watchFile;
        let last = -1;
        // smbclient prints nothing while uploading: its offset in the local file is the progress the idle clock watches.
        progressTimer = setInterval(
          () =>
            void readOffset(pid, watch).then((pos) => {
              if (pos === null || pos === last) return;
              last = pos;
              idle.touch();
              opts.onProgress?.(pos);
            }),
          250,
        );
      }
      const onAbort = () => child.kill('SIGTERM');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (err) => {
        clearInterval(progressTimer);
        idle.dispose();
        opts.signal?.removeEventListener('abort', onAbort);
        reject(new DeliveryError('ioError', `cannot run smbclient: ${errorMessage(err)}`, true));
      });
      child.on('close', (exitCode) => {
        clearInterval(progressTimer);
        idle.dispose();
        opts.signal?.removeEventListener('abort', onAbort);
        if (idle.fired) idle.expired.catch(reject);
        else if (opts.signal?.aborted) reject(new DeliveryError('timeout', 'delivery aborted', false));
        else resolve({ output, exitCode });
      });
      child.stdin.on('error', () => undefined); // smbclient exits early on connect failure
      child.stdin.end(commands.join('\n') + '\nexit\n');
    });
  }
}

function authFileText(target: SmbTarget, password: string): string {
  if (/[\r\n]/.test(password) || /[\r\n]/.test(target.username)) {
    throw new DeliveryError('authFailed', 'SMB username/password must not contain line breaks', true);
  }
  return `username = ${target.username}\npassword = ${password}\n${target.domain ? `domain = ${target.domain}\n` : ''}`;
}

/**
 * How far smbclient has read the local file: its file offset in /proc/<pid>/fdinfo. smbclient
 * prints nothing while uploading, and this costs nothing on the data path.
 */
async function readOffset(pid: number, file: string): Promise<number | null> {
  try {
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) !== file) continue;
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const m = /^pos:\s+(\d+)/m.exec(info);
      return m ? Number(m[1]) : null;
    }
  } catch {
    // process gone or /proc unavailable: no progress, not an error
  }
  return null;
}

/**
 * smbclient reports failures before any SMB session on these lines: the TCP connection (refused,
 * unreachable, unresolvable name) and the dialect negotiation (reset, silence, another protocol
 * on the port: NT_STATUS_INVALID_NETWORK_RESPONSE comes from any binary junk too).
 */
const CONNECT_PHASE = /^(do_connect:|protocol negotiation failed:)|\bConnection to \S+ failed\b/;

/** True when smbclient never got an SMB session: the one connection failure, whatever the cause. */
export function isConnectPhaseFailure(line: string): boolean {
  return CONNECT_PHASE.test(line);
}

/** Throws the DeliveryError for the first unexpected NT_STATUS (or a failed exit). */
export function checkRun(run: SmbclientRun, what: string, tolerated: readonly string[] = []): void {
  const hit = firstNtStatus(run.output, tolerated);
  // Which of them it was would tell a caller what listens on the port: one answer, the line is the cause.
  if (hit && isConnectPhaseFailure(hit.line)) throw connectFailed(new Error(`smbclient: ${hit.line}`));
  if (hit) throw smbError(hit.status, `${what}: ${hit.line}`);
  if (run.exitCode !== 0) {
    const last = run.output.trim().split('\n').at(-1) ?? '';
    throw new DeliveryError('mountfail', `${what}: smbclient exited with ${run.exitCode}${last ? `: ${last}` : ''}`, false);
  }
}

/** `stream: [::$DATA], 1234 bytes` in allinfo output. */
export function parseAllinfoSize(output: string): number | null {
  const m = /stream: \[::\$DATA\], (\d+) bytes/.exec(output);
  return m ? Number(m[1]) : null;
}

/**
 * `ls` lines: two spaces, name (padded), attribute letters, size, date. Names may contain
 * spaces, so match from the end of the line. The date is the write time in smbclient's local
 * time, which is ours (it inherits our TZ).
 */
export function parseLs(output: string): { name: string; isDir: boolean; size: number; mtimeMs: number | null }[] {
  const out: { name: string; isDir: boolean; size: number; mtimeMs: number | null }[] = [];
  for (const line of output.split('\n')) {
    const m = /^ {2}(.+?)\s+([DAHSRNCI]*)\s+(\d+)\s+\w{3} (\w{3}) ([ \d]\d) (\d\d:\d\d:\d\d) (\d{4})$/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (name === '.' || name === '..') continue;
    const mtime = new Date(`${m[4]} ${m[5]!.trim()} ${m[7]} ${m[6]}`).getTime();
    out.push({ name, isDir: m[2]!.includes('D'), size: Number(m[3]), mtimeMs: Number.isNaN(mtime) ? null : mtime });
  }
  return out;
}


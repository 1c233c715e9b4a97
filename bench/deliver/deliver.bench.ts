/**
 * Delivery throughput: a 1 GiB file to SFTP, SMB (smbclient driver) and local disk through
 * @pbx/destinations, next to the native tools on the same file: OpenSSH `sftp -b` (batch
 * put), `smbclient put` and `cp` (page cache) / `cp` + `sync <file>` (durable). Needs the
 * test peers (scripts/test-peers.sh) for SFTP and SMB.
 *
 *   npm run build && node dist/bench/deliver/deliver.bench.js [sizeMiB=1024] [runs=3] [local,sftp,smb]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalAdapter, SftpAdapter, SmbAdapter, sshFingerprint } from '@pbx/destinations/adapters';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 3);
const only = new Set((process.argv[4] ?? 'local,sftp,smb').split(','));

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}
const peersDir = process.env.TEST_PEERS_DIR ?? join(repoRoot(), 'var/test-peers');
const sftpHome = join(peersDir, 'sftp/home');
const smbShare = join(peersDir, 'samba/share');

async function makeFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const block = randomBytes(MiB);
  for (let i = 0; i < size / MiB; i++) {
    block.writeUInt32LE(i, 0);
    hash.update(block);
    if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  return hash.digest('hex');
}

/** Flushes earlier writes first, so one measurement does not pay for the previous one's writeback. */
async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  execFileSync('sync');
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function run(cmd: string, args: string[], input?: string): void {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 16 * MiB });
  if (r.status !== 0 || /NT_STATUS_/.test(r.stdout + r.stderr)) throw new Error(`${cmd} failed: ${r.stdout}${r.stderr}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-deliver-'));
  const file = join(work, 'bench.sar');
  const size = sizeMiB * MiB;
  const results: { target: string; native: number; ours: number }[] = [];
  try {
    console.log(`making ${sizeMiB} MiB test file…`);
    const sha256 = await makeFile(file, size);
    execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache
    const req = { filePath: file, fileName: 'bench.sar', size, sha256 };

    // ---- local, in two regimes, each against the native tool doing the same work:
    //  page cache: `cp` vs the adapter with fsync off (data may still be in RAM afterwards);
    //  durable:    `cp` + `sync <file>` (coreutils fsyncs the file) vs the default adapter,
    //              which fsyncs the file and its folder; `dd conv=fsync` as a second reference.
    // The sha256 opt-in (a second full read and hash pass of the archive) is informational.
    if (only.has('local')) {
      const localRoot = join(work, 'local');
      await mkdir(localRoot);
      const adapters = {
        cache: new LocalAdapter(localRoot, { fsync: false }),
        durable: new LocalAdapter(localRoot),
        cacheSha: new LocalAdapter(localRoot, { fsync: false, verify: 'sha256' }),
        durableSha: new LocalAdapter(localRoot, { verify: 'sha256' }),
      };
      const t = { cp: [] as number[], cpSync: [] as number[], dd: [] as number[], cache: [] as number[], durable: [] as number[], cacheSha: [] as number[], durableSha: [] as number[] };
      const dest = join(localRoot, 'native.sar');
      const native = async (key: 'cp' | 'cpSync' | 'dd', fn: () => void) => {
        t[key].push(await time(fn));
        await rm(dest);
      };
      const ours = async (key: keyof typeof adapters, i: number) => {
        t[key].push(await time(() => adapters[key].deliver({ type: 'local' }, { ...req, configurationName: `bench-${i}` })));
        await rm(join(localRoot, 'starface-backup'), { recursive: true, force: true });
      };
      for (let i = 0; i < runs; i++) {
        // Every other run measures the adapter first, so neither side always follows the same step.
        const pair = async (a: () => Promise<void>, b: () => Promise<void>) => {
          for (const step of i % 2 ? [b, a] : [a, b]) await step();
        };
        await pair(
          () => native('cp', () => run('cp', [file, dest])),
          () => ours('cache', i),
        );
        await pair(
          () =>
            native('cpSync', () => {
              run('cp', [file, dest]);
              run('sync', [dest]);
            }),
          () => ours('durable', i),
        );
        await native('dd', () => run('dd', [`if=${file}`, `of=${dest}`, 'bs=4M', 'conv=fsync', 'status=none']));
        await ours('cacheSha', i);
        await ours('durableSha', i);
      }
      results.push({ target: 'local, page cache: `cp` vs adapter {fsync:false} (size verify)', native: median(t.cp), ours: median(t.cache) });
      results.push({ target: 'local, durable: `cp` + `sync <file>` vs adapter default (fsync + size)', native: median(t.cpSync), ours: median(t.durable) });
      results.push({ target: 'local, durable: `dd conv=fsync` vs adapter default (fsync + size)', native: median(t.dd), ours: median(t.durable) });
      results.push({ target: "local, page cache: `cp` vs adapter {fsync:false, verify:'sha256'} (opt-in)", native: median(t.cp), ours: median(t.cacheSha) });
      results.push({ target: "local, durable: `cp` + `sync <file>` vs adapter {verify:'sha256'} (opt-in)", native: median(t.cpSync), ours: median(t.durableSha) });
      console.log('local, all runs (s):', JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.map((x) => Number(x.toFixed(2)))]))));
    }

    // ---- SFTP: OpenSSH sftp -b vs SftpAdapter
    if (only.has('sftp')) {
    const key = join(peersDir, 'sshd/client_ed25519');
    const hostKey = readFileSync(join(peersDir, 'sshd/keys/ssh_host_ed25519_key.pub'), 'utf8').split(/\s+/)[1]!;
    const sftp = new SftpAdapter();
    const sftpConfig = {
      type: 'sftp' as const,
      host: '127.0.0.1',
      port: 2222,
      username: 'sftpuser',
      password: 'sftppass',
      path: 'bench',
      hostKeyFingerprint: sshFingerprint(Buffer.from(hostKey, 'base64')),
    };
    const knownHosts = join(work, 'known_hosts');
    await writeFile(knownHosts, `[127.0.0.1]:2222 ssh-ed25519 ${hostKey}\n`);
    const sftpNative: number[] = [];
    const sftpOurs: number[] = [];
    for (let i = 0; i < runs; i++) {
      sftpNative.push(
        await time(() =>
          run('sftp', ['-q', '-b', '-', '-i', key, '-P', '2222', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', 'sftpuser@127.0.0.1'], `put ${file} native-${i}.sar\n`),
        ),
      );
      await rm(join(sftpHome, `native-${i}.sar`), { force: true });
      sftpOurs.push(await time(() => sftp.deliver(sftpConfig, { ...req, configurationName: `bench-${i}` })));
      await rm(join(sftpHome, 'bench'), { recursive: true, force: true });
    }
    results.push({ target: 'SFTP (OpenSSH sftp -b)', native: median(sftpNative), ours: median(sftpOurs) });
    }

    // ---- SMB: smbclient put vs SmbAdapter (same SMB3 + signing options)
    if (only.has('smb')) {
    const auth = join(work, 'smb-auth');
    await writeFile(auth, 'username = smbuser\npassword = smbpass\n');
    await chmod(auth, 0o600);
    const smb = new SmbAdapter();
    const smbConfig = { type: 'smb' as const, server: '127.0.0.1', port: 4445, share: 'backup/bench', username: 'smbuser', password: 'smbpass', security: 'ntlmssp' as const };
    const smbNative: number[] = [];
    const smbOurs: number[] = [];
    for (let i = 0; i < runs; i++) {
      smbNative.push(
        await time(() =>
          run('smbclient', ['//127.0.0.1/backup', '-p', '4445', '-A', auth, '--use-kerberos=off', '--option=client min protocol=SMB3', '--client-protection=sign', '-c', `put ${file} native-${i}.sar`]),
        ),
      );
      await rm(join(smbShare, `native-${i}.sar`), { force: true });
      smbOurs.push(await time(() => smb.deliver(smbConfig, { ...req, configurationName: `bench-${i}` })));
      await rm(join(smbShare, 'bench'), { recursive: true, force: true });
    }
    results.push({ target: 'SMB3 signed (smbclient put)', native: median(smbNative), ours: median(smbOurs) });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const rate = (s: number) => sizeMiB / s;
  console.log(`\n${sizeMiB} MiB, median of ${runs} runs\n`);
  console.log('| target | native MiB/s | @pbx/destinations MiB/s | ratio |');
  console.log('|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.target} | ${rate(r.native).toFixed(0)} | ${rate(r.ours).toFixed(0)} | ${(r.native / r.ours).toFixed(2)}x |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

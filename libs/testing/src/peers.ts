import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { expectEventually } from './eventually';

/** The repo root: the nearest ancestor of this file holding nx.json. */
function findRepoRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export const repoRoot = findRepoRoot(__dirname);

/** Where scripts/test-peers.sh keeps its throwaway configs and data. */
export const testPeersDir = resolve(process.env.TEST_PEERS_DIR ?? join(repoRoot, 'var/test-peers'));

/** Added to every peer port (scripts/test-peers.sh reads the same variable). */
const PORT_OFFSET = Number(process.env.TEST_PEERS_PORT_OFFSET ?? 0);

/** The real test peers started by scripts/test-peers.sh (all on loopback). */
export const peers = {
  host: '127.0.0.1',
  sftp: {
    port: 2222 + PORT_OFFSET,
    username: 'sftpuser',
    password: 'sftppass',
    /** Client private key (OpenSSH format) authorised for sftpuser. */
    privateKeyPath: join(testPeersDir, 'sshd/client_ed25519'),
    hostKeyPath: join(testPeersDir, 'sshd/keys/ssh_host_ed25519_key.pub'),
    /** sftpuser's login directory (writable), as seen from this machine. */
    homeDir: join(testPeersDir, 'sftp/home'),
    /** A directory inside the home that sftpuser cannot write to (relative to the login dir). */
    readOnlyDir: 'readonly',
  },
  smb: {
    /** "Strict modern" Samba: SMB3 minimum, signing mandatory, NTLMv2 only. */
    port: 4445 + PORT_OFFSET,
    /** "Legacy" Samba: SMB2_02 minimum, NTLMv1 permitted, signing not required. */
    legacyPort: 4446 + PORT_OFFSET,
    username: 'smbuser',
    password: 'smbpass',
    share: 'backup',
    readOnlyShare: 'readonly',
    /** Where the shares live on this machine (to check what arrived). */
    shareDir: join(testPeersDir, 'samba/share'),
    legacyShareDir: join(testPeersDir, 'samba-legacy/share'),
    configFile: join(testPeersDir, 'samba/smb.conf'),
  },
  smtp: {
    port: 2525 + PORT_OFFSET,
    url: `smtp://127.0.0.1:${2525 + PORT_OFFSET}`,
    maildir: join(testPeersDir, 'smtp/mail'),
  },
  /** s3rver (path-style only; accepts any secret for its one access key, so a wrong key id is the auth failure). */
  s3: {
    port: 4568 + PORT_OFFSET,
    endpoint: `http://127.0.0.1:${4568 + PORT_OFFSET}`,
    region: 'us-east-1',
    bucket: 'pbx-test',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    /** Where s3rver keeps each bucket's objects on this machine. */
    dataDir: join(testPeersDir, 's3/data'),
  },
} as const;

/** An SFTP destination (password login) on the test sshd, in the folder `sub` of sftpuser's home. */
export function peerSftpDestination(sub: string) {
  return {
    type: 'sftp' as const,
    host: peers.host,
    port: peers.sftp.port,
    username: peers.sftp.username,
    password: peers.sftp.password,
    path: join(peers.sftp.homeDir, sub),
    hostKeyFingerprint: sftpHostKeyFingerprint(),
  };
}

/**
 * An SMB destination on one of the test Samba peers, in the share's sub-folder `sub`:
 * `smbclient` against the strict one (SMB3, signing), or `legacy-smb2` against the legacy one.
 */
export function peerSmbDestination(sub: string, driver: 'smbclient' | 'legacy-smb2' = 'smbclient') {
  const legacy = driver === 'legacy-smb2';
  // Typed structurally: @pbx/destinations' own tests use this lib, so it cannot import that one.
  return {
    type: 'smb' as const,
    ...(legacy ? { driver: 'legacy-smb2' as const } : {}),
    server: peers.host,
    port: legacy ? peers.smb.legacyPort : peers.smb.port,
    share: `${peers.smb.share}/${sub}`,
    username: peers.smb.username,
    password: peers.smb.password,
    security: legacy ? ('ntlmv1-legacy' as const) : ('ntlmssp' as const),
  };
}

/** An s3 destination in the s3rver peer's bucket, below `prefix`. */
export function peerS3Destination(prefix: string) {
  return {
    type: 's3' as const,
    endpoint: peers.s3.endpoint,
    region: peers.s3.region,
    bucket: peers.s3.bucket,
    prefix,
    accessKeyId: peers.s3.accessKeyId,
    secretAccessKey: peers.s3.secretAccessKey,
    forcePathStyle: true,
  };
}

/** Where s3rver keeps the object `key` of its bucket on this machine. */
export function s3rverObjectPath(key: string): string {
  return join(peers.s3.dataDir, peers.s3.bucket, `${key}._S3rver_object`);
}

/** The ed25519 host key fingerprint as `ssh-keygen -lf` prints it ("SHA256:…", unpadded). */
export function sftpHostKeyFingerprint(): string {
  const [, blob] = readFileSync(peers.sftp.hostKeyPath, 'utf8').trim().split(/\s+/);
  if (!blob) throw new Error(`no host key in ${peers.sftp.hostKeyPath}; run scripts/test-peers.sh`);
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

export function sftpClientKey(): string {
  return readFileSync(peers.sftp.privateKeyPath, 'utf8');
}

export interface ReceivedMail {
  file: string;
  mail: ParsedMail;
}

/** Parses every complete message stored since `since` (default: the last 10 min); `.part` files are still being written. */
export async function readMaildir(maildir: string = peers.smtp.maildir, since = Date.now() - 10 * 60_000): Promise<ReceivedMail[]> {
  const names = (await readdir(maildir).catch(() => [] as string[])).filter((n) => n.endsWith('.eml')).sort();
  const out: ReceivedMail[] = [];
  for (const name of names) {
    const file = join(maildir, name);
    const st = await stat(file).catch(() => null);
    if (!st || st.mtimeMs < since) continue;
    const raw = await readFile(file).catch(() => null);
    if (raw) out.push({ file, mail: await simpleParser(raw) });
  }
  return out;
}

/**
 * Polls the SMTP sink's maildir until a message matches `predicate`, then returns it parsed.
 * Use a unique subject/recipient per test: the maildir is shared by every test run.
 */
export async function waitForMail(
  predicate: (mail: ParsedMail) => boolean,
  {
    timeoutMs = 15_000,
    maildir = peers.smtp.maildir,
    since = Date.now() - 60_000,
  }: { timeoutMs?: number; maildir?: string; /** ignore mails stored before this (epoch ms) */ since?: number } = {},
): Promise<ReceivedMail> {
  const seen = new Set<string>();
  return expectEventually<ReceivedMail | null>(
    async () => {
      const names = (await readdir(maildir).catch(() => [] as string[])).filter((n) => n.endsWith('.eml') && !seen.has(n));
      for (const name of names) {
        const file = join(maildir, name);
        seen.add(name);
        const st = await stat(file).catch(() => null);
        if (!st || st.mtimeMs < since) continue;
        const raw = await readFile(file).catch(() => null);
        if (!raw) continue;
        const mail = await simpleParser(raw);
        if (predicate(mail)) return { file, mail };
      }
      return null;
    },
    { timeoutMs, intervalMs: 100, message: 'no matching mail arrived in the SMTP sink' },
  ) as Promise<ReceivedMail>;
}

/**
 * Writes `size` pseudo-random bytes to `<dir>/<name>` (streamed, 1 MiB at a time) and returns
 * its path, size and sha256 — a stand-in for a .sar archive in delivery tests.
 */
export async function makeTestArchive(dir: string, size: number, name = 'backup.sar'): Promise<{ filePath: string; fileName: string; size: number; sha256: string }> {
  const filePath = join(dir, name);
  const hash = createHash('sha256');
  const out = createWriteStream(filePath);
  // One random MiB repeated with a counter prefix: cheap to make, never all-equal blocks.
  const block = randomBytes(Math.min(size, 1024 * 1024) || 1);
  let written = 0;
  let n = 0;
  while (written < size) {
    const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - written)));
    if (chunk.length >= 4) chunk.writeUInt32LE(n++ >>> 0, 0);
    hash.update(chunk);
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  return { filePath, fileName: name, size, sha256: hash.digest('hex') };
}

/**
 * Helpers of the fault suite (issue #17): which Postgres backends belong to one app process,
 * a big PBX without writing big files, and what an interrupted upload may leave behind.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { link, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { generateSpeechWav, SeededRandom, WAV_HEADER_BYTES, WAV_SAMPLE_RATE } from '@pbx/pbx-source';
import { testUrls } from '@pbx/testing';

const PG_PORT = Number(new URL(testUrls.database).port || 5432);

/**
 * The local ports of process `pid`'s TCP connections to Postgres (from `ss -tnp`). Postgres
 * sees them as `pg_stat_activity.client_port`, so a test can end exactly one app's sessions
 * and never those of another suite or another checkout sharing the server.
 */
export function postgresPortsOf(pid: number): number[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' });
  const ports: number[] = [];
  for (const line of out.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const [local, peer] = line.trim().split(/\s+/).slice(2, 4); // Recv-Q Send-Q Local Peer Process
    if (peer?.endsWith(`:${PG_PORT}`)) ports.push(Number(local.slice(local.lastIndexOf(':') + 1)));
  }
  return ports;
}

/**
 * `pg_terminate_backend` on every session of process `pid` (optionally only those whose
 * application_name is one of `applicationNames`); returns the application names of the
 * sessions it ended.
 */
export async function terminateBackendsOf(pg: Client, pid: number, applicationNames?: readonly string[]): Promise<string[]> {
  const ports = postgresPortsOf(pid);
  if (!ports.length) return [];
  const { rows } = await pg.query<{ application_name: string; ended: boolean }>(
    `SELECT application_name, pg_terminate_backend(pid) AS ended FROM pg_stat_activity
      WHERE client_port = ANY($1::int[]) AND pid <> pg_backend_pid() AND ($2::text[] IS NULL OR application_name = ANY($2::text[]))`,
    [ports, applicationNames ?? null],
  );
  return rows.filter((r) => r.ended).map((r) => r.application_name);
}

/**
 * Makes the seeded PBX's voicemails big without writing them: every recording becomes a hard
 * link to one `bytes`-long recording (speech synthesis runs at ~10 MB/s, disk space is spent
 * once), and the rows say so. A backup with cdrAndVoicemails is then ~count × bytes.
 */
export async function enlargeVoicemails(pbxSchema: string, dataDir: string, scratchDir: string, bytes: number): Promise<number> {
  const big = join(scratchDir, 'big.wav');
  const wav = generateSpeechWav(SeededRandom.derive(17, 17), bytes);
  await writeFile(big, wav);
  const pg = new Client({ connectionString: testUrls.database });
  await pg.connect();
  try {
    const { rows } = await pg.query<{ file_name: string }>(`SELECT file_name FROM "${pbxSchema}".voicemails`);
    for (const { file_name } of rows) {
      await rm(join(dataDir, file_name));
      await link(big, join(dataDir, file_name));
    }
    await pg.query(`UPDATE "${pbxSchema}".voicemails SET size_bytes = $1, duration_s = $2`, [wav.length, Math.round((wav.length - WAV_HEADER_BYTES) / 2 / WAV_SAMPLE_RATE)]);
    return rows.length;
  } finally {
    await pg.end();
  }
}

/** Temp files of an upload in a destination folder, whatever their naming (old: `.<file>.partial-<random>`, new: `-<delivery>-<nonce>`). */
export function partialsIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith('.') && n.includes('.partial'));
}

/** Every name in a folder (hidden ones included); [] when it does not exist. */
export function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Processes (pid and command) that have a file open whose path contains `fragment`. */
export function processesReading(fragment: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target.includes(fragment)) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        } catch {
          /* gone */
        }
        found.push(`${pid} ${cmd}`);
        break;
      }
    }
  }
  return found;
}

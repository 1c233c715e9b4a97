import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ensurePbxDatabase, migratePbxSchema } from '../pbx-schema.migrations';
import { quoteIdent } from '../sql-identifiers';
import { SeededRandom } from './seeded-random';
import {
  ANNOUNCEMENT_TOPICS,
  AREA_CODES,
  CHAT_PHRASES,
  FIRST_NAMES,
  GROUP_NAMES,
  LAST_NAMES,
  MOBILE_PREFIXES,
  PHONE_MODELS,
} from './seed-vocabulary';
import { generateSpeechWav, WAV_HEADER_BYTES, WAV_SAMPLE_RATE } from './speech-wav.generator';

export interface SeedPbxOptions {
  databaseUrl: string;
  schema: string;
  dataDir: string;
  users?: number;
  cdr?: number;
  voicemails?: number;
  announcements?: number;
  /** CDR and voicemail timestamps are spread over the last `days` days. */
  days?: number;
  seed?: number;
  /** Wipe existing PBX rows and audio first; without it, seeding a non-empty PBX fails. */
  reset?: boolean;
  /** Audio file sizes are uniform in [min, max] bytes. */
  minAudioBytes?: number;
  maxAudioBytes?: number;
  /** "Now" for timestamps (tests pin it). */
  now?: Date;
  onProgress?: (event: SeedProgress) => void;
}

export interface SeedProgress {
  phase: 'users' | 'cdr' | 'voicemails' | 'announcements';
  done: number;
  total: number;
}

export interface SeedPbxResult {
  users: number;
  groups: number;
  phones: number;
  numberAssignments: number;
  chatMessages: number;
  cdr: number;
  voicemails: number;
  announcements: number;
  audioBytes: number;
}

/**
 * Size presets: ~1 GB / ~4 GB in total, mostly audio (uniform 100 KB-2 MB, ~1.05 MB
 * per file), the rest CDRs (~210 bytes per exported CSV row).
 */
export const SEED_PRESETS = {
  '1gb': { users: 200, cdr: 1_000_000, voicemails: 720, announcements: 40 },
  '4gb': { users: 500, cdr: 3_000_000, voicemails: 3150, announcements: 80 },
} as const satisfies Record<string, { users: number; cdr: number; voicemails: number; announcements: number }>;
export type SeedPreset = keyof typeof SEED_PRESETS;

const DAY_MS = 86_400_000;
const MAX_USERS = 7999;

/** Seeding refused because the PBX has data; the `reset` option replaces it (each caller names it its way). */
export class PbxNotEmptyError extends Error {
  constructor() {
    super('the PBX already has data');
    this.name = 'PbxNotEmptyError';
  }
}

/**
 * Fills a PBX (schema + data dir) with realistic, deterministic data: users, groups,
 * phones, numbers, chat, CDRs (via COPY FROM STDIN), voicemails and announcements as WAV.
 */
export async function seedPbx(options: SeedPbxOptions): Promise<SeedPbxResult> {
  const users = options.users ?? 200;
  if (users < 1 || users > MAX_USERS) throw new Error(`users must be 1..${MAX_USERS}`);
  const cdrCount = options.cdr ?? 10_000;
  const voicemails = options.voicemails ?? 100;
  const announcements = options.announcements ?? 10;
  const days = Math.max(1, options.days ?? 90); // at least one day, or no timestamp before "now" exists
  const seed = options.seed ?? 1;
  const minAudio = options.minAudioBytes ?? 100_000;
  const maxAudio = options.maxAudioBytes ?? 2_000_000;
  const now = (options.now ?? new Date()).getTime();
  const progress = options.onProgress ?? (() => undefined);

  await ensurePbxDatabase(options.databaseUrl);
  await migratePbxSchema({ databaseUrl: options.databaseUrl, schema: options.schema });
  const client = new Client({ connectionString: options.databaseUrl, options: '-c TimeZone=UTC' });
  await client.connect();
  const s = quoteIdent(options.schema);
  try {
    if (options.reset) {
      await client.query(
        `TRUNCATE ${['archive_selections', 'archive_selection_runs', 'chat_messages', 'number_assignments', 'phones', 'group_members', 'groups', 'users', 'cdr', 'voicemails']
          .map((t) => `${s}.${t}`)
          .join(', ')} RESTART IDENTITY CASCADE`,
      );
      await rm(join(options.dataDir, 'voicemail'), { recursive: true, force: true });
      await rm(join(options.dataDir, 'announcements'), { recursive: true, force: true });
    } else {
      const { rows } = await client.query<{ n: string }>(`SELECT (SELECT count(*) FROM ${s}.users) + (SELECT count(*) FROM ${s}.cdr) AS n`);
      if (Number(rows[0].n) > 0) throw new PbxNotEmptyError();
    }
    await mkdir(options.dataDir, { recursive: true });

    const core = await seedCore(client, s, users, seed, now);
    progress({ phase: 'users', done: users, total: users });
    await seedCdr(client, s, cdrCount, users, seed, now, days, (done) => progress({ phase: 'cdr', done, total: cdrCount }));
    let audioBytes = await seedVoicemails(client, s, options.dataDir, voicemails, users, seed, now, days, minAudio, maxAudio, (done) =>
      progress({ phase: 'voicemails', done, total: voicemails }),
    );
    audioBytes += await seedAnnouncements(options.dataDir, announcements, seed, minAudio, maxAudio, (done) =>
      progress({ phase: 'announcements', done, total: announcements }),
    );
    await client.query(`ANALYZE ${s}.cdr`);
    return { ...core, users, cdr: cdrCount, voicemails, announcements, audioBytes };
  } finally {
    await client.end();
  }
}

function extensionOf(userIndex: number): string {
  return String(1000 + userIndex);
}

function externalNumber(rng: SeededRandom): string {
  return rng.chance(0.35)
    ? `+49${rng.pick(MOBILE_PREFIXES)}${rng.int(1_000_000, 99_999_999)}`
    : `+49${rng.pick(AREA_CODES)}${rng.int(100_000, 9_999_999)}`;
}

function asciiLogin(name: string): string {
  return name
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .replace(/[^a-z]/g, '');
}

async function insertRows(client: Client, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  // Multi-row INSERTs in chunks: core tables are small, this keeps them simple and typed.
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const params: unknown[] = [];
    const values = chunk.map((r) => `(${r.map((v) => `$${params.push(v)}`).join(', ')})`).join(', ');
    await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, params);
  }
}

async function seedCore(
  client: Client,
  s: string,
  users: number,
  seed: number,
  now: number,
): Promise<{ groups: number; phones: number; numberAssignments: number; chatMessages: number }> {
  const rng = SeededRandom.derive(seed, 1);
  const userRows: unknown[][] = [];
  for (let i = 0; i < users; i++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const login = `${asciiLogin(first)}.${asciiLogin(last)}${i}`;
    userRows.push([i + 1, extensionOf(i), first, last, `${login}@example-firma.de`, login, rng.chance(0.85) ? 'de' : 'en', new Date(now - rng.int(100, 2000) * DAY_MS)]);
  }
  await insertRows(client, `${s}.users`, ['id', 'extension', 'first_name', 'last_name', 'email', 'login', 'language', 'created_at'], userRows);

  const groupCount = Math.min(999, Math.max(1, Math.round(users / 12)));
  const groupRows: unknown[][] = [];
  const memberRows: unknown[][] = [];
  for (let g = 0; g < groupCount; g++) {
    const name = g < GROUP_NAMES.length ? GROUP_NAMES[g] : `${rng.pick(GROUP_NAMES)} ${Math.floor(g / GROUP_NAMES.length) + 1}`;
    groupRows.push([g + 1, name, String(9000 + g), rng.pick(['parallel', 'round_robin', 'linear']), new Date(now - rng.int(100, 2000) * DAY_MS)]);
    const members = new Set<number>();
    const size = rng.int(2, Math.min(12, users));
    while (members.size < Math.min(size, users)) members.add(rng.int(1, users));
    [...members].forEach((u, pos) => memberRows.push([g + 1, u, pos]));
  }
  await insertRows(client, `${s}.groups`, ['id', 'name', 'extension', 'strategy', 'created_at'], groupRows);
  await insertRows(client, `${s}.group_members`, ['group_id', 'user_id', 'position'], memberRows);

  const phoneRows: unknown[][] = [];
  for (let u = 1; u <= users; u++) {
    const n = rng.chance(0.3) ? 2 : 1;
    for (let k = 0; k < n; k++) {
      // Vendor prefix + the phone's index: unique without a retry loop.
      const idx = phoneRows.length.toString(16).padStart(6, '0');
      const mac = `00:15:65:${idx.slice(0, 2)}:${idx.slice(2, 4)}:${idx.slice(4, 6)}`.toUpperCase();
      const model = rng.pick(PHONE_MODELS);
      phoneRows.push([u, mac, model, `${model} (${extensionOf(u - 1)})`, `10.0.${rng.int(1, 20)}.${rng.int(2, 254)}`, new Date(now - rng.int(1, 900) * DAY_MS)]);
    }
  }
  await insertRows(client, `${s}.phones`, ['user_id', 'mac', 'model', 'label', 'ip_address', 'provisioned_at'], phoneRows);

  const numberRows: unknown[][] = [];
  for (let u = 1; u <= users; u++) {
    numberRows.push([`+4930123450${String(u).padStart(4, '0')}`, 'direct', u, null]);
    if (rng.chance(0.1)) numberRows.push([`+4930123459${String(u).padStart(4, '0')}`, 'fax', u, null]);
  }
  for (let g = 1; g <= groupCount; g++) numberRows.push([`+4930123458${String(g).padStart(4, '0')}`, 'group', null, g]);
  await insertRows(client, `${s}.number_assignments`, ['number', 'kind', 'user_id', 'group_id'], numberRows);

  const chatRows: unknown[][] = [];
  const chats = users * 15;
  for (let i = 0; i < chats; i++) {
    chatRows.push([rng.int(1, users), rng.int(1, users), new Date(now - rng.range(0, 60) * DAY_MS), rng.pick(CHAT_PHRASES)]);
  }
  await insertRows(client, `${s}.chat_messages`, ['from_user_id', 'to_user_id', 'sent_at', 'body'], chatRows);
  // Explicit ids above: move the sequences past them.
  await client.query(`SELECT setval(pg_get_serial_sequence('${s}.users', 'id'), $1)`, [users]);
  await client.query(`SELECT setval(pg_get_serial_sequence('${s}.groups', 'id'), $1)`, [groupCount]);
  return { groups: groupCount, phones: phoneRows.length, numberAssignments: numberRows.length, chatMessages: chats };
}

/** A timestamp in the last `days` days, mostly during business hours on weekdays. */
function callTime(rng: SeededRandom, now: number, days: number): number {
  for (;;) {
    const dayStart = Math.floor(now / DAY_MS) * DAY_MS - rng.int(0, Math.max(0, days - 1)) * DAY_MS;
    const hour = rng.chance(0.9) ? rng.range(7.5, 18.5) : rng.range(0, 24);
    const t = dayStart + hour * 3_600_000;
    const weekday = new Date(t).getUTCDay();
    if (t < now && ((weekday !== 0 && weekday !== 6) || rng.chance(0.1))) return Math.floor(t);
  }
}

async function seedCdr(
  client: Client,
  s: string,
  count: number,
  users: number,
  seed: number,
  now: number,
  days: number,
  progress: (done: number) => void,
): Promise<void> {
  if (count === 0) return;
  const rng = SeededRandom.derive(seed, 2);
  const codecs = ['G.711a', 'G.711a', 'G.722', 'OPUS'];
  function* lines(): Generator<string> {
    let batch = '';
    for (let i = 0; i < count; i++) {
      const direction = rng.weighted({ inbound: 45, outbound: 40, internal: 15 });
      const user = rng.int(0, users - 1);
      const ext = extensionOf(user);
      const other = direction === 'internal' ? extensionOf(rng.int(0, users - 1)) : externalNumber(rng);
      const caller = direction === 'outbound' || direction === 'internal' ? ext : other;
      const callee = direction === 'outbound' || direction === 'internal' ? other : ext;
      const disposition = rng.weighted({ answered: 70, no_answer: 12, busy: 6, failed: 3, voicemail: 9 });
      const started = callTime(rng, now, days);
      const ring = disposition === 'busy' || disposition === 'failed' ? rng.int(0, 2) : rng.int(2, 25);
      const talk = disposition === 'answered' ? Math.max(1, Math.round(rng.exponential(170))) : disposition === 'voicemail' ? rng.int(5, 90) : 0;
      const answered = disposition === 'answered' || disposition === 'voicemail' ? new Date(started + ring * 1000).toISOString() : '';
      const duration = ring + talk;
      const ended = new Date(started + duration * 1000).toISOString();
      const cause = { answered: 16, no_answer: 19, busy: 17, failed: 34, voicemail: 16 }[disposition];
      const group = direction === 'inbound' && rng.chance(0.3) ? String(rng.int(1, Math.max(1, Math.round(users / 12)))) : '';
      const trunk = direction === 'internal' ? '' : rng.chance(0.8) ? 'sip-trunk-1' : 'sip-trunk-2';
      const callerName = direction === 'inbound' ? (rng.chance(0.4) ? `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}` : '') : '';
      batch +=
        `${rng.hex(32)},${new Date(started).toISOString()},${answered},${ended},${direction},${caller},${csvField(callerName)},` +
        `${callee},,${user + 1},${group},${trunk},${duration},${disposition === 'answered' ? talk : 0},${disposition},${cause},${rng.pick(codecs)}\n`;
      if ((i + 1) % 2000 === 0 || i + 1 === count) {
        yield batch;
        batch = '';
        if ((i + 1) % 100_000 === 0 || i + 1 === count) progress(i + 1);
      }
    }
  }
  const copy = client.query(
    copyFrom(
      `COPY ${s}.cdr (call_id, started_at, answered_at, ended_at, direction, caller, caller_name, callee, callee_name, user_id, group_id, trunk, duration_s, billable_s, disposition, hangup_cause, codec) FROM STDIN WITH (FORMAT csv)`,
    ),
  );
  await pipeline(Readable.from(lines()), copy);
}

function csvField(value: string): string {
  return /[",\n\r']/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

async function seedVoicemails(
  client: Client,
  s: string,
  dataDir: string,
  count: number,
  users: number,
  seed: number,
  now: number,
  days: number,
  minAudio: number,
  maxAudio: number,
  progress: (done: number) => void,
): Promise<number> {
  let bytes = 0;
  let rows: unknown[][] = [];
  const flush = async () => {
    await insertRows(client, `${s}.voicemails`, ['mailbox', 'caller', 'caller_name', 'received_at', 'duration_s', 'file_name', 'size_bytes', 'read'], rows);
    rows = [];
  };
  for (let i = 0; i < count; i++) {
    const rng = SeededRandom.derive(seed, 3, i);
    const mailbox = extensionOf(rng.int(0, users - 1));
    const size = rng.int(minAudio, maxAudio);
    const fileName = `voicemail/${mailbox}/vm-${String(i + 1).padStart(7, '0')}.wav`;
    const wav = generateSpeechWav(rng, size);
    await mkdir(dirname(join(dataDir, fileName)), { recursive: true });
    await writeFile(join(dataDir, fileName), wav);
    bytes += wav.length;
    const receivedAt = new Date(callTime(rng, now, days));
    const durationS = Math.round((wav.length - WAV_HEADER_BYTES) / 2 / WAV_SAMPLE_RATE);
    const callerName = rng.chance(0.4) ? `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}` : null;
    rows.push([mailbox, externalNumber(rng), callerName, receivedAt, durationS, fileName, wav.length, receivedAt.getTime() < now - 3 * DAY_MS || rng.chance(0.5)]);
    if (rows.length >= 200) await flush();
    if ((i + 1) % 50 === 0 || i + 1 === count) progress(i + 1);
  }
  if (rows.length) await flush();
  return bytes;
}

async function seedAnnouncements(
  dataDir: string,
  count: number,
  seed: number,
  minAudio: number,
  maxAudio: number,
  progress: (done: number) => void,
): Promise<number> {
  let bytes = 0;
  if (count > 0) await mkdir(join(dataDir, 'announcements'), { recursive: true });
  for (let i = 0; i < count; i++) {
    const rng = SeededRandom.derive(seed, 4, i);
    const topic = ANNOUNCEMENT_TOPICS[i % ANNOUNCEMENT_TOPICS.length];
    const wav = generateSpeechWav(rng, rng.int(minAudio, maxAudio));
    await writeFile(join(dataDir, 'announcements', `ann-${String(i + 1).padStart(3, '0')}-${topic}.wav`), wav);
    bytes += wav.length;
    if ((i + 1) % 10 === 0 || i + 1 === count) progress(i + 1);
  }
  return bytes;
}

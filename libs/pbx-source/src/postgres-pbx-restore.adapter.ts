import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool, type PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CsvHeaderTap } from './csv-header';
import { fsyncPath, walkFiles } from './data-dir.walker';
import type { AudioKind, PbxTable } from './pbx-source.interface';
import type {
  CommitSectionOptions,
  PbxRestoreTarget,
  PbxSection,
  PublishAudioOptions,
  RestoreJournalEntry,
  RestoreJournalState,
  RestoreMode,
  TableDiff,
  TableLoad,
  TableRestoreResult,
} from './pbx-restore-target.interface';
import { assertRestoreId, quoteIdent } from './sql-identifiers';

export interface PostgresPbxRestoreOptions {
  databaseUrl: string;
  schema: string;
  dataDir: string;
  /** Shown in pg_stat_activity (default `pbx-backup-pbx-restore`). */
  applicationName?: string;
  /** Told when Postgres drops an idle pooled connection (see PostgresPbxSourceOptions). */
  onIdleConnectionError?: (err: Error) => void;
}

const AUDIO_FOLDERS: readonly AudioKind[] = ['voicemail', 'announcements'];

interface JournalRow {
  restore_id: string;
  section: PbxSection;
  mode: RestoreMode;
  audio_folder: AudioKind | null;
  state: RestoreJournalState;
  updated_at: Date;
}

interface UniqueKey {
  primary: boolean;
  columns: string[];
}

/** Restores PBX tables (Postgres) and audio (data dir); see PbxRestoreTarget. */
export class PostgresPbxRestoreTarget implements PbxRestoreTarget {
  private readonly pool: Pool;
  private readonly s: string;

  constructor(private readonly options: PostgresPbxRestoreOptions) {
    // UTC like the source: timestamps in the archive carry their offset anyway.
    this.pool = new Pool({
      connectionString: options.databaseUrl,
      max: 3,
      options: '-c TimeZone=UTC',
      application_name: options.applicationName ?? 'pbx-backup-pbx-restore',
    });
    this.pool.on('error', (err) => options.onIdleConnectionError?.(err));
    this.s = quoteIdent(options.schema);
  }

  // ---- preview ----

  async diffTables(tables: TableLoad[], mode: RestoreMode, signal?: AbortSignal): Promise<TableDiff[]> {
    return this.inTransaction(async (client) => {
      const diffs: TableDiff[] = [];
      for (const load of tables) {
        signal?.throwIfAborted();
        const stage = await this.loadStage(client, load, signal);
        const live = this.table(load.table);
        const keys = await this.uniqueKeys(client, load.table);
        const pk = keys.find((k) => k.primary);
        if (!pk) throw new Error(`table ${load.table} has no primary key`);
        const onKey = (k: UniqueKey) => k.columns.map((c) => `l.${quoteIdent(c)} = s.${quoteIdent(c)}`).join(' AND ');
        const liveRows = await this.count(client, `SELECT count(*) AS n FROM ${live}`);
        const inArchive = await this.count(client, `SELECT count(*) AS n FROM ${stage.name}`);
        if (mode === 'merge') {
          // What INSERT … ON CONFLICT DO NOTHING would add: no key of any unique index taken.
          const free = keys.map((k) => `NOT EXISTS (SELECT 1 FROM ${live} l WHERE ${onKey(k)})`).join(' AND ');
          const added = await this.count(client, `SELECT count(*) AS n FROM ${stage.name} s WHERE ${free}`);
          diffs.push({ table: load.table, rowsInArchive: inArchive, rowsAdded: added, rowsRemoved: 0, rowsChanged: 0, rowsUnchanged: liveRows });
          continue;
        }
        const cols = stage.columns.map(quoteIdent);
        const { rows } = await client.query<{ added: string; removed: string; changed: string; same: string }>(
          `SELECT
             (SELECT count(*) FROM ${stage.name} s WHERE NOT EXISTS (SELECT 1 FROM ${live} l WHERE ${onKey(pk)})) AS added,
             (SELECT count(*) FROM ${live} l WHERE NOT EXISTS (SELECT 1 FROM ${stage.name} s WHERE ${onKey(pk)})) AS removed,
             (SELECT count(*) FILTER (WHERE (${cols.map((c) => `s.${c}`).join(', ')}) IS DISTINCT FROM (${cols.map((c) => `l.${c}`).join(', ')}))
                FROM ${stage.name} s JOIN ${live} l ON ${onKey(pk)}) AS changed,
             (SELECT count(*) FILTER (WHERE (${cols.map((c) => `s.${c}`).join(', ')}) IS NOT DISTINCT FROM (${cols.map((c) => `l.${c}`).join(', ')}))
                FROM ${stage.name} s JOIN ${live} l ON ${onKey(pk)}) AS same`,
        );
        const r = rows[0];
        diffs.push({
          table: load.table,
          rowsInArchive: inArchive,
          rowsAdded: Number(r.added),
          rowsRemoved: Number(r.removed),
          rowsChanged: Number(r.changed),
          rowsUnchanged: Number(r.same),
        });
      }
      return diffs;
    }, 'rollback');
  }

  async liveAudioSize(relativePath: string): Promise<number | null> {
    try {
      const st = await stat(this.livePath(relativePath));
      return st.isFile() ? st.size : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async liveAudioSha256(relativePath: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(this.livePath(relativePath), { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async *liveAudio(folder: AudioKind): AsyncGenerator<{ relativePath: string; size: number }> {
    assertFolder(folder);
    for await (const f of walkFiles(this.options.dataDir, folder)) yield { relativePath: f.relativePath, size: f.size };
  }

  // ---- journal ----

  async openJournal(restoreId: string, section: PbxSection, mode: RestoreMode, audioFolder: AudioKind | null): Promise<void> {
    assertRestoreId(restoreId);
    await this.pool.query(
      `INSERT INTO ${this.s}.restore_journal (restore_id, section, mode, audio_folder, state) VALUES ($1, $2, $3, $4, 'staging')`,
      [restoreId, section, mode, audioFolder],
    );
  }

  async readJournal(restoreId: string, options: { waitForWriters?: boolean } = {}): Promise<RestoreJournalEntry[]> {
    assertRestoreId(restoreId);
    const query = `SELECT * FROM ${this.s}.restore_journal WHERE restore_id = $1 ORDER BY created_at, section`;
    // FOR UPDATE waits for a transaction that still holds a row: a dying restorer's COMMIT
    // may land after we looked, so only a read behind its row lock is final.
    const rows = options.waitForWriters
      ? await this.inTransaction(async (c) => (await c.query<JournalRow>(`${query} FOR UPDATE`, [restoreId])).rows, 'commit')
      : (await this.pool.query<JournalRow>(query, [restoreId])).rows;
    return rows.map((r) => ({
      restoreId: r.restore_id,
      section: r.section,
      mode: r.mode,
      audioFolder: r.audio_folder,
      state: r.state,
      updatedAt: r.updated_at,
    }));
  }

  async markJournal(restoreId: string, section: PbxSection, from: RestoreJournalState, to: RestoreJournalState): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE ${this.s}.restore_journal SET state = $4, updated_at = now() WHERE restore_id = $1 AND section = $2 AND state = $3`,
      [restoreId, section, from, to],
    );
    return r.rowCount === 1;
  }

  async unfinishedRestores(): Promise<string[]> {
    const { rows } = await this.pool.query<{ restore_id: string }>(
      `SELECT DISTINCT restore_id FROM ${this.s}.restore_journal WHERE state IN ('staging', 'committed') ORDER BY restore_id`,
    );
    return rows.map((r) => r.restore_id);
  }

  // ---- tables ----

  async commitSection(
    restoreId: string,
    section: PbxSection,
    tables: TableLoad[],
    mode: RestoreMode,
    options: CommitSectionOptions,
  ): Promise<TableRestoreResult[]> {
    const results = await this.inTransaction(async (client) => {
      // Row lock first: recovery reading the journal waits for this transaction to end.
      const own = await client.query(
        `UPDATE ${this.s}.restore_journal SET updated_at = now() WHERE restore_id = $1 AND section = $2 AND state = 'staging'`,
        [restoreId, section],
      );
      if (own.rowCount !== 1) throw new Error(`restore ${restoreId}: section ${section} is not staging (recovered meanwhile?)`);
      const out: TableRestoreResult[] = [];
      const before = new Map<PbxTable, number>();
      for (const load of tables) before.set(load.table, await this.count(client, `SELECT count(*) AS n FROM ${this.table(load.table)}`));
      if (mode === 'replace' && tables.length > 0) {
        // One TRUNCATE for the whole section (foreign keys between its tables); no CASCADE,
        // so a table outside the section that refers to one of them stops the restore
        // instead of being emptied too. Truncated in this transaction, COPY may FREEZE.
        await client.query(`TRUNCATE ${tables.map((t) => this.table(t.table)).join(', ')}`);
        for (const load of tables) {
          options.signal?.throwIfAborted();
          const inserted = await this.copyInto(client, this.table(load.table), await load.open(), true, options.signal);
          out.push({ table: load.table, rowsBefore: before.get(load.table) ?? 0, rowsInserted: inserted, rowsDeleted: before.get(load.table) ?? 0 });
        }
      } else {
        for (const load of tables) {
          options.signal?.throwIfAborted();
          const stage = await this.loadStage(client, load, options.signal);
          const cols = stage.columns.map(quoteIdent).join(', ');
          const r = await client.query(`INSERT INTO ${this.table(load.table)} (${cols}) SELECT ${cols} FROM ${stage.name} ON CONFLICT DO NOTHING`);
          await client.query(`DROP TABLE ${stage.name}`);
          out.push({ table: load.table, rowsBefore: before.get(load.table) ?? 0, rowsInserted: r.rowCount ?? 0, rowsDeleted: 0 });
        }
      }
      for (const load of tables) await this.advanceSequences(client, load.table);
      await options.beforeCommit?.();
      const moved = await client.query(
        `UPDATE ${this.s}.restore_journal SET state = $3, updated_at = now() WHERE restore_id = $1 AND section = $2 AND state = 'staging'`,
        [restoreId, section, options.nextState],
      );
      if (moved.rowCount !== 1) throw new Error(`restore ${restoreId}: journal of ${section} changed during the restore`);
      return out;
    }, 'commit');
    // Fresh statistics for the planner (a replaced CDR table would otherwise be judged by the old ones).
    if (results.length > 0) await this.pool.query(`ANALYZE ${results.map((r) => this.table(r.table)).join(', ')}`).catch(() => undefined);
    return results;
  }

  // ---- audio ----

  async prepareStagedAudio(restoreId: string, folder: AudioKind): Promise<void> {
    const staged = this.stagedDir(restoreId, folder);
    await rm(staged, { recursive: true, force: true });
    await mkdir(staged, { recursive: true });
  }

  async writeStagedAudio(restoreId: string, folder: AudioKind, relativePath: string, data: Readable, signal?: AbortSignal): Promise<void> {
    const target = join(this.stagedDir(restoreId, folder), this.insideFolder(folder, relativePath));
    await mkdir(dirname(target), { recursive: true });
    const handle = await open(target, 'w');
    try {
      for await (const chunk of data) {
        signal?.throwIfAborted();
        await handle.write(chunk as Buffer);
      }
    } catch (err) {
      data.destroy();
      throw err;
    } finally {
      await handle.close();
    }
  }

  /**
   * fsync of every staged file and folder, many at once: one by one after each write, the
   * disk's latency was paid per file (a third of the staging time for 760 voicemails).
   */
  async syncStagedAudio(restoreId: string, folder: AudioKind, signal?: AbortSignal): Promise<void> {
    const staged = this.stagedDir(restoreId, folder);
    const dirs = new Set<string>([staged]);
    const files: string[] = [];
    for await (const f of walkFiles(staged, '')) {
      files.push(f.absolutePath);
      for (let d = dirname(f.absolutePath); d.length > staged.length; d = dirname(d)) dirs.add(d);
    }
    const syncAll = async (paths: string[]) => {
      let next = 0;
      const worker = async () => {
        while (next < paths.length) {
          signal?.throwIfAborted();
          await fsyncPath(paths[next++]);
        }
      };
      await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, paths.length) }, worker));
    };
    await syncAll(files);
    await syncAll([...dirs].sort((a, b) => b.length - a.length)); // deepest first
    await fsyncPath(dirname(staged));
  }

  async publishStagedAudio(restoreId: string, folder: AudioKind, mode: RestoreMode, options: PublishAudioOptions = {}): Promise<number> {
    const staged = this.stagedDir(restoreId, folder);
    const live = this.liveAudioDir(folder);
    if (mode === 'merge') return this.mergeStaged(staged, live, options);
    const old = this.replacedDir(restoreId, folder);
    let moved = 0;
    if (await exists(staged)) {
      // States a crash can leave (each handled): live+staged; old+staged (between the
      // renames); live+old (before removing old). Never two live folders.
      if (await exists(live)) {
        if (await exists(old)) throw new Error(`${live} reappeared while ${folder} was being swapped; move it away and recover again`);
        await rename(live, old);
      }
      await options.midway?.();
      await rename(staged, live);
      await fsyncPath(this.options.dataDir);
      moved = await countFiles(live);
    }
    await rm(old, { recursive: true, force: true });
    return moved;
  }

  liveAudioDir(folder: AudioKind): string {
    return join(this.options.dataDir, folder);
  }

  async discardStagedAudio(restoreId: string, folder: AudioKind): Promise<void> {
    await rm(this.stagedDir(restoreId, folder), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // ---- internals ----

  /** Moves each staged file to its live name unless that name is taken; then drops the staging folder. */
  private async mergeStaged(staged: string, live: string, options: PublishAudioOptions): Promise<number> {
    let moved = 0;
    for await (const f of walkFiles(staged, '')) {
      const target = join(live, f.relativePath);
      if (await exists(target)) continue; // merge never replaces a live file
      await mkdir(dirname(target), { recursive: true });
      await rename(f.absolutePath, target);
      moved += 1;
      if (moved === 1) await options.midway?.();
    }
    if (moved > 0) await fsyncPath(live);
    await rm(staged, { recursive: true, force: true });
    return moved;
  }

  /** COPY of an archive CSV into a temporary table shaped like `load.table` (dropped at the end of the transaction). */
  private async loadStage(client: PoolClient, load: TableLoad, signal?: AbortSignal): Promise<{ name: string; columns: string[] }> {
    const name = quoteIdent(`restore_stage_${load.table}`);
    await client.query(`CREATE TEMP TABLE ${name} (LIKE ${this.table(load.table)} INCLUDING DEFAULTS) ON COMMIT DROP`);
    const csv = await load.open();
    const tap = CsvHeaderTap.of(csv);
    await this.copyFromTap(client, name, tap, false, signal);
    return { name, columns: await tap.columns };
  }

  private async copyInto(client: PoolClient, table: string, csv: Readable, freeze: boolean, signal?: AbortSignal): Promise<number> {
    return this.copyFromTap(client, table, CsvHeaderTap.of(csv), freeze, signal);
  }

  /** COPY … FROM STDIN with the archive's header as column list (HEADER MATCH checks it again). */
  private async copyFromTap(client: PoolClient, table: string, tap: CsvHeaderTap, freeze: boolean, signal?: AbortSignal): Promise<number> {
    let columns: string[];
    try {
      columns = await tap.columns;
    } catch (err) {
      tap.destroy();
      throw err;
    }
    const copy = client.query(
      copyFrom(`COPY ${table} (${columns.map(quoteIdent).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER MATCH${freeze ? ', FREEZE' : ''})`, {
        highWaterMark: 1 << 20,
      }),
    );
    await pipeline(tap, copy, { signal });
    return copy.rowCount ?? 0;
  }

  /** Moves serial/identity sequences past the highest loaded value; never back (ids of archived rows stay unused). */
  private async advanceSequences(client: PoolClient, table: PbxTable): Promise<void> {
    const { rows } = await client.query<{ column: string; seq: string | null }>(
      `SELECT a.attname AS column, pg_get_serial_sequence(format('%I.%I', $1::text, $2::text), a.attname) AS seq
         FROM pg_attribute a
        WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
      [this.options.schema, table],
    );
    for (const { column, seq } of rows) {
      if (!seq) continue;
      await client.query(
        `SELECT setval($1::regclass, m) FROM (SELECT max(${quoteIdent(column)}) AS m FROM ${this.table(table)}) x
          WHERE m IS NOT NULL AND m > (SELECT last_value FROM ${seq})`,
        [seq],
      );
    }
  }

  private async uniqueKeys(client: PoolClient, table: PbxTable): Promise<UniqueKey[]> {
    const { rows } = await client.query<{ primary: boolean; columns: string[] }>(
      `SELECT i.indisprimary AS primary, array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index i
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
        GROUP BY i.indexrelid, i.indisprimary
        ORDER BY i.indisprimary DESC`,
      [this.options.schema, table],
    );
    return rows;
  }

  private async count(client: PoolClient, sql: string): Promise<number> {
    const { rows } = await client.query<{ n: string }>(sql);
    return Number(rows[0].n);
  }

  private async inTransaction<T>(fn: (client: PoolClient) => Promise<T>, end: 'commit' | 'rollback'): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query(end === 'commit' ? 'COMMIT' : 'ROLLBACK');
      return value;
    } catch (err) {
      // A COPY cut off mid-stream can leave the connection unusable: then the pool drops it.
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  private table(table: PbxTable): string {
    return `${this.s}.${quoteIdent(table)}`;
  }

  private replacedDir(restoreId: string, folder: AudioKind): string {
    return join(this.options.dataDir, `${folder}.replaced-${restoreId}`);
  }

  private stagedDir(restoreId: string, folder: AudioKind): string {
    assertRestoreId(restoreId);
    assertFolder(folder);
    return join(this.options.dataDir, `${folder}.restore-${restoreId}`);
  }

  private livePath(relativePath: string): string {
    const [folder] = relativePath.split('/');
    return join(this.options.dataDir, folder, this.insideFolder(folder as AudioKind, relativePath));
  }

  /** `voicemail/201/vm-1.wav` → `201/vm-1.wav`; refuses anything that would leave the folder. */
  private insideFolder(folder: AudioKind, relativePath: string): string {
    assertFolder(folder);
    const normalized = posix.normalize(relativePath);
    const prefix = `${folder}/`;
    const rest = normalized.slice(prefix.length);
    if (normalized !== relativePath || !normalized.startsWith(prefix) || rest === '' || rest.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new Error(`audio path ${JSON.stringify(relativePath)} is not a file inside ${folder}/`);
    }
    return rest;
  }
}

function assertFolder(folder: string): asserts folder is AudioKind {
  if (!AUDIO_FOLDERS.includes(folder as AudioKind)) throw new Error(`unknown audio folder ${JSON.stringify(folder)}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** fsyncs in flight at once when the staged audio is made durable (the disk queues them). */
const SYNC_CONCURRENCY = 16;


async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const _ of walkFiles(dir, '')) n += 1;
  return n;
}

import { stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { Pool, type PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { directorySize, walkFiles } from './data-dir.walker';
import {
  CORE_TABLES,
  PBX_TABLES,
  type ArchiveCriteria,
  type ArchiveSelection,
  type AudioFile,
  type AudioKind,
  type CoreTable,
  type DeleteArchivedOptions,
  type DeleteArchivedResult,
  type PbxSource,
  type PbxStats,
  type PbxTable,
  type SelectionFilter,
} from './pbx-source.interface';
import { assertSelectionId, quoteIdent, quoteLiteral } from './sql-identifiers';

export interface PostgresPbxSourceOptions {
  databaseUrl: string;
  schema: string;
  dataDir: string;
  /** Pool size (default 4): one COPY stream holds one connection while it is read. */
  maxConnections?: number;
  /** Shown in pg_stat_activity (default `pbx-backup-pbx-source`). */
  applicationName?: string;
  /**
   * Told when Postgres drops an idle pooled connection (restart, failover, an admin's
   * pg_terminate_backend). The pool replaces it on the next query; without a listener pg's
   * 'error' event would end the process.
   */
  onIdleConnectionError?: (err: Error) => void;
}

/** Column lists per core table, so the export layout does not depend on column order in the DB. */
const CORE_ORDER: Record<CoreTable, string> = {
  users: 'id',
  groups: 'id',
  group_members: 'group_id, user_id',
  phones: 'id',
  number_assignments: 'id',
  chat_messages: 'id',
};

interface SelectionRow {
  selection_id: string;
  created_at: Date;
  cdr_older_than: Date | null;
  voicemails_older_than: Date | null;
  cdr_count: string;
  voicemail_count: string;
}

/** The PBX's data in Postgres (tables) plus a data dir (audio files). */
export class PostgresPbxSource implements PbxSource {
  private readonly pool: Pool;
  private readonly s: string;

  constructor(private readonly options: PostgresPbxSourceOptions) {
    // UTC so exported timestamps do not depend on the server's or client's time zone.
    this.pool = new Pool({
      connectionString: options.databaseUrl,
      max: options.maxConnections ?? 4,
      options: '-c TimeZone=UTC',
      application_name: options.applicationName ?? 'pbx-backup-pbx-source',
    });
    this.pool.on('error', (err) => options.onIdleConnectionError?.(err));
    this.s = quoteIdent(options.schema);
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  async openCoreTable(table: CoreTable): Promise<Readable> {
    if (!CORE_TABLES.includes(table)) throw new Error(`unknown core table ${table}`);
    return this.copyOut(`SELECT * FROM ${this.s}.${quoteIdent(table)} ORDER BY ${CORE_ORDER[table]}`);
  }

  async openCdrCsv(filter: SelectionFilter = {}): Promise<Readable> {
    return this.copyOut(`SELECT c.* FROM ${this.s}.cdr c ${this.selectionWhere('c', 'cdr', filter)} ORDER BY c.id`);
  }

  async openVoicemailCsv(filter: SelectionFilter = {}): Promise<Readable> {
    return this.copyOut(`SELECT v.* FROM ${this.s}.voicemails v ${this.selectionWhere('v', 'voicemail', filter)} ORDER BY v.id`);
  }

  async *audioFiles(kind: AudioKind, filter: SelectionFilter = {}): AsyncGenerator<AudioFile> {
    if (kind === 'announcements' || filter.selectionId === undefined) {
      yield* walkFiles(this.options.dataDir, kind);
      return;
    }
    assertSelectionId(filter.selectionId);
    // Keyset pagination: a million-item selection is never loaded at once.
    let after = '0';
    for (;;) {
      const { rows } = await this.pool.query<{ id: string; file_name: string }>(
        `SELECT v.id, v.file_name FROM ${this.s}.voicemails v
           JOIN ${this.s}.archive_selections a ON a.item_id = v.id AND a.kind = 'voicemail' AND a.selection_id = $1
          WHERE v.id > $2 ORDER BY v.id LIMIT 500`,
        [filter.selectionId, after],
      );
      if (rows.length === 0) return;
      for (const row of rows) {
        const absolutePath = this.resolveDataFile(row.file_name);
        const st = await stat(absolutePath);
        yield { relativePath: row.file_name, absolutePath, size: st.size };
      }
      after = rows[rows.length - 1].id;
    }
  }

  async stats(): Promise<PbxStats> {
    const counts = PBX_TABLES.map((t) => `(SELECT count(*) FROM ${this.s}.${quoteIdent(t)}) AS ${quoteIdent(t)}`).join(', ');
    const { rows } = await this.pool.query<Record<string, string>>(`SELECT ${counts}`);
    const rowCounts = Object.fromEntries(PBX_TABLES.map((t) => [t, Number(rows[0][t])])) as Record<PbxTable, number>;
    const size = await this.pool.query<{ bytes: string | null }>(
      `SELECT sum(pg_total_relation_size(format('%I.%I', $1::text, t)::regclass))::bigint AS bytes FROM unnest($2::text[]) AS t`,
      [this.options.schema, [...PBX_TABLES]],
    );
    const dir = await directorySize(this.options.dataDir);
    return { rowCounts, dataDirBytes: dir.bytes, dataDirFiles: dir.files, databaseBytes: Number(size.rows[0].bytes ?? 0) };
  }

  async selectArchiveItems(selectionId: string, criteria: ArchiveCriteria): Promise<ArchiveSelection> {
    assertSelectionId(selectionId);
    const client = await this.pool.connect();
    try {
      // One snapshot for both kinds: the set is exactly what existed when the run started.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const inserted = await client.query(
        `INSERT INTO ${this.s}.archive_selection_runs (selection_id, cdr_older_than, voicemails_older_than, cdr_count, voicemail_count)
         VALUES ($1, $2, $3, 0, 0) ON CONFLICT (selection_id) DO NOTHING`,
        [selectionId, criteria.cdrOlderThan ?? null, criteria.voicemailsOlderThan ?? null],
      );
      if (inserted.rowCount === 0) {
        await client.query('ROLLBACK');
        const existing = await this.getArchiveSelection(selectionId);
        if (!existing) throw new Error(`archive selection ${selectionId} vanished`);
        return existing;
      }
      let cdrCount = 0;
      let voicemailCount = 0;
      if (criteria.cdrOlderThan) {
        const r = await client.query(
          `INSERT INTO ${this.s}.archive_selections (selection_id, kind, item_id)
           SELECT $1, 'cdr', id FROM ${this.s}.cdr WHERE started_at < $2`,
          [selectionId, criteria.cdrOlderThan],
        );
        cdrCount = r.rowCount ?? 0;
      }
      if (criteria.voicemailsOlderThan) {
        const r = await client.query(
          `INSERT INTO ${this.s}.archive_selections (selection_id, kind, item_id)
           SELECT $1, 'voicemail', id FROM ${this.s}.voicemails WHERE received_at < $2`,
          [selectionId, criteria.voicemailsOlderThan],
        );
        voicemailCount = r.rowCount ?? 0;
      }
      await client.query(
        `UPDATE ${this.s}.archive_selection_runs SET cdr_count = $2, voicemail_count = $3 WHERE selection_id = $1`,
        [selectionId, cdrCount, voicemailCount],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    const selection = await this.getArchiveSelection(selectionId);
    if (!selection) throw new Error(`archive selection ${selectionId} vanished`);
    return selection;
  }

  async getArchiveSelection(selectionId: string): Promise<ArchiveSelection | null> {
    assertSelectionId(selectionId);
    const { rows } = await this.pool.query<SelectionRow>(
      `SELECT * FROM ${this.s}.archive_selection_runs WHERE selection_id = $1`,
      [selectionId],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      selectionId: r.selection_id,
      createdAt: r.created_at,
      cdrOlderThan: r.cdr_older_than,
      voicemailsOlderThan: r.voicemails_older_than,
      cdrCount: Number(r.cdr_count),
      voicemailCount: Number(r.voicemail_count),
    };
  }

  async deleteArchived(selectionId: string, options: DeleteArchivedOptions = {}): Promise<DeleteArchivedResult> {
    assertSelectionId(selectionId);
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 5000));
    const result: DeleteArchivedResult = { cdrDeleted: 0, voicemailsDeleted: 0, filesDeleted: 0 };
    const lockKey = `pbx-archive-delete:${this.options.schema}:${selectionId}`;
    const lockClient = await this.pool.connect();
    try {
      const { rows } = await lockClient.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [lockKey]);
      if (!rows[0].locked) throw new Error(`deletion of archive selection ${selectionId} is already running`);
      try {
        if (!(await this.getArchiveSelection(selectionId))) throw new Error(`unknown archive selection ${selectionId}`);
        for (;;) {
          options.signal?.throwIfAborted();
          const n = await this.deleteCdrBatch(lockClient, selectionId, batchSize);
          if (n.marked === 0) break;
          result.cdrDeleted += n.deleted;
          options.onBatch?.({ ...result });
        }
        for (;;) {
          options.signal?.throwIfAborted();
          const n = await this.deleteVoicemailBatch(lockClient, selectionId, batchSize);
          if (n.marked === 0) break;
          result.voicemailsDeleted += n.deleted;
          result.filesDeleted += n.files;
          options.onBatch?.({ ...result });
        }
      } finally {
        await lockClient.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
      }
    } finally {
      lockClient.release();
    }
    return result;
  }

  async dropArchiveSelection(selectionId: string): Promise<void> {
    assertSelectionId(selectionId);
    await this.pool.query(`DELETE FROM ${this.s}.archive_selection_runs WHERE selection_id = $1`, [selectionId]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** One statement = one transaction: rows deleted and marked together, so a crash loses nothing. */
  private async deleteCdrBatch(client: PoolClient, selectionId: string, batchSize: number): Promise<{ deleted: number; marked: number }> {
    const { rows } = await client.query<{ deleted: string; marked: string }>(
      `WITH batch AS (
         SELECT item_id FROM ${this.s}.archive_selections
          WHERE selection_id = $1 AND kind = 'cdr' AND NOT deleted ORDER BY item_id LIMIT $2 FOR UPDATE),
       del AS (DELETE FROM ${this.s}.cdr WHERE id IN (SELECT item_id FROM batch) RETURNING 1),
       upd AS (UPDATE ${this.s}.archive_selections a SET deleted = true FROM batch b
                WHERE a.selection_id = $1 AND a.kind = 'cdr' AND a.item_id = b.item_id RETURNING 1)
       SELECT (SELECT count(*) FROM del) AS deleted, (SELECT count(*) FROM upd) AS marked`,
      [selectionId, batchSize],
    );
    return { deleted: Number(rows[0].deleted), marked: Number(rows[0].marked) };
  }

  /**
   * Files first, then rows + marks in one transaction. A crash in between leaves rows
   * whose files are gone; the re-run unlinks again (ENOENT is fine) and finishes the rows.
   */
  private async deleteVoicemailBatch(
    client: PoolClient,
    selectionId: string,
    batchSize: number,
  ): Promise<{ deleted: number; marked: number; files: number }> {
    const { rows } = await client.query<{ item_id: string; file_name: string | null }>(
      `SELECT a.item_id, v.file_name FROM ${this.s}.archive_selections a
         LEFT JOIN ${this.s}.voicemails v ON v.id = a.item_id
        WHERE a.selection_id = $1 AND a.kind = 'voicemail' AND NOT a.deleted ORDER BY a.item_id LIMIT $2`,
      [selectionId, batchSize],
    );
    if (rows.length === 0) return { deleted: 0, marked: 0, files: 0 };
    let files = 0;
    for (const row of rows) {
      if (row.file_name === null) continue;
      try {
        await unlink(this.resolveDataFile(row.file_name));
        files += 1;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const ids = rows.map((r) => r.item_id);
    await client.query('BEGIN');
    try {
      const del = await client.query(`DELETE FROM ${this.s}.voicemails WHERE id = ANY($1::bigint[])`, [ids]);
      await client.query(
        `UPDATE ${this.s}.archive_selections SET deleted = true
          WHERE selection_id = $1 AND kind = 'voicemail' AND item_id = ANY($2::bigint[])`,
        [selectionId, ids],
      );
      await client.query('COMMIT');
      return { deleted: del.rowCount ?? 0, marked: ids.length, files };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private selectionWhere(alias: string, kind: 'cdr' | 'voicemail', filter: SelectionFilter): string {
    if (filter.selectionId === undefined) return '';
    assertSelectionId(filter.selectionId);
    return `WHERE ${alias}.id IN (SELECT item_id FROM ${this.s}.archive_selections
             WHERE selection_id = ${quoteLiteral(filter.selectionId)} AND kind = '${kind}')`;
  }

  /** File names come from the database: never let one point outside the data dir. */
  private resolveDataFile(fileName: string): string {
    const normalized = normalize(fileName);
    if (isAbsolute(normalized) || normalized.startsWith(`..${sep}`) || normalized === '..') {
      throw new Error(`voicemail file name escapes the data dir: ${fileName}`);
    }
    return join(this.options.dataDir, normalized);
  }

  /** `COPY (query) TO STDOUT` as a stream; the connection is released when it ends or is destroyed. */
  private async copyOut(query: string): Promise<Readable> {
    const client = await this.pool.connect();
    let released = false;
    const release = (err?: Error) => {
      if (released) return;
      released = true;
      // A connection abandoned mid-COPY is unusable: passing an error makes the pool discard it.
      client.release(err);
    };
    try {
      const stream = client.query(copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT csv, HEADER true)`, { highWaterMark: 1 << 20 }));
      stream.once('end', () => release());
      stream.once('error', (err) => release(err));
      stream.once('close', () => release(released ? undefined : new Error('COPY stream closed before its end')));
      return stream;
    } catch (err) {
      release(err as Error);
      throw err;
    }
  }
}

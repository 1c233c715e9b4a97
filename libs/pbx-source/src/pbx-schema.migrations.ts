import { Client } from 'pg';
import { quoteIdent } from './sql-identifiers';

/**
 * The PBX's own schema. Migrations are append-only: never edit one that has shipped,
 * add a new id instead (ids sort lexically and run in that order).
 */
export const PBX_MIGRATIONS: ReadonlyArray<{ id: string; sql: string }> = [
  {
    id: '0001_core_tables',
    sql: `
      CREATE TABLE users (
        id          serial PRIMARY KEY,
        extension   text NOT NULL UNIQUE,
        first_name  text NOT NULL,
        last_name   text NOT NULL,
        email       text NOT NULL,
        login       text NOT NULL UNIQUE,
        language    text NOT NULL DEFAULT 'de',
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE groups (
        id          serial PRIMARY KEY,
        name        text NOT NULL,
        extension   text NOT NULL UNIQUE,
        strategy    text NOT NULL CHECK (strategy IN ('parallel', 'round_robin', 'linear')),
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE group_members (
        group_id    integer NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id     integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        position    integer NOT NULL DEFAULT 0,
        PRIMARY KEY (group_id, user_id)
      );
      CREATE TABLE phones (
        id             serial PRIMARY KEY,
        user_id        integer REFERENCES users(id) ON DELETE SET NULL,
        mac            text NOT NULL UNIQUE,
        model          text NOT NULL,
        label          text NOT NULL,
        ip_address     text,
        provisioned_at timestamptz
      );
      CREATE TABLE number_assignments (
        id          serial PRIMARY KEY,
        number      text NOT NULL UNIQUE,
        kind        text NOT NULL CHECK (kind IN ('direct', 'fax', 'group')),
        user_id     integer REFERENCES users(id) ON DELETE CASCADE,
        group_id    integer REFERENCES groups(id) ON DELETE CASCADE
      );
      CREATE TABLE chat_messages (
        id            bigserial PRIMARY KEY,
        from_user_id  integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        to_user_id    integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        sent_at       timestamptz NOT NULL,
        body          text NOT NULL
      );
    `,
  },
  {
    id: '0002_cdr_voicemails',
    sql: `
      CREATE TABLE cdr (
        id            bigserial PRIMARY KEY,
        call_id       text NOT NULL,
        started_at    timestamptz NOT NULL,
        answered_at   timestamptz,
        ended_at      timestamptz NOT NULL,
        direction     text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
        caller        text NOT NULL,
        caller_name   text,
        callee        text NOT NULL,
        callee_name   text,
        user_id       integer,
        group_id      integer,
        trunk         text,
        duration_s    integer NOT NULL,
        billable_s    integer NOT NULL,
        disposition   text NOT NULL CHECK (disposition IN ('answered', 'no_answer', 'busy', 'failed', 'voicemail')),
        hangup_cause  integer NOT NULL,
        codec         text
      );
      CREATE INDEX cdr_started_at_idx ON cdr (started_at);
      CREATE TABLE voicemails (
        id            bigserial PRIMARY KEY,
        mailbox       text NOT NULL,
        caller        text NOT NULL,
        caller_name   text,
        received_at   timestamptz NOT NULL,
        duration_s    integer NOT NULL,
        file_name     text NOT NULL UNIQUE,
        size_bytes    bigint NOT NULL,
        read          boolean NOT NULL DEFAULT false
      );
      CREATE INDEX voicemails_received_at_idx ON voicemails (received_at);
    `,
  },
  {
    id: '0003_archive_selections',
    sql: `
      -- One row per archiving run: the cut-off dates and counts fixed when it started.
      CREATE TABLE archive_selection_runs (
        selection_id          text PRIMARY KEY,
        created_at            timestamptz NOT NULL DEFAULT now(),
        cdr_older_than        timestamptz,
        voicemails_older_than timestamptz,
        cdr_count             bigint NOT NULL,
        voicemail_count       bigint NOT NULL
      );
      -- The exact items of a run; 'deleted' makes deletion resumable after a crash.
      CREATE TABLE archive_selections (
        selection_id  text NOT NULL REFERENCES archive_selection_runs(selection_id) ON DELETE CASCADE,
        kind          text NOT NULL CHECK (kind IN ('cdr', 'voicemail')),
        item_id       bigint NOT NULL,
        deleted       boolean NOT NULL DEFAULT false,
        PRIMARY KEY (selection_id, kind, item_id)
      );
    `,
  },
  {
    id: '0004_restore_journal',
    sql: `
      -- One row per section of a restore. Its state changes in the transaction that commits
      -- the section's tables, so after a crash recovery knows whether to finish the audio
      -- swap (committed) or throw the staged audio away (staging).
      CREATE TABLE restore_journal (
        restore_id    text NOT NULL,
        section       text NOT NULL CHECK (section IN ('coreData', 'cdrAndVoicemails', 'announcements')),
        mode          text NOT NULL CHECK (mode IN ('replace', 'merge')),
        audio_folder  text CHECK (audio_folder IN ('voicemail', 'announcements')),
        state         text NOT NULL CHECK (state IN ('staging', 'committed', 'done', 'rolled_back')),
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (restore_id, section)
      );
      CREATE INDEX restore_journal_unfinished_idx ON restore_journal (restore_id) WHERE state IN ('staging', 'committed');
    `,
  },
];

export interface PbxDatabaseTarget {
  databaseUrl: string;
  schema: string;
}

/** Creates the database named in the URL if it does not exist yet (a fresh machine). */
export async function ensurePbxDatabase(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl);
  const dbName = decodeURIComponent(target.pathname.slice(1));
  if (!dbName) throw new Error('database URL names no database');
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${quoteIdent(dbName)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * Creates the schema if missing and applies pending migrations, each in its own
 * transaction under an advisory lock so concurrent callers do not race. Idempotent.
 * Returns the ids applied by this call.
 */
export async function migratePbxSchema({ databaseUrl, schema }: PbxDatabaseTarget): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const s = quoteIdent(schema);
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`pbx-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.pbx_schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set((await client.query<{ id: string }>(`SELECT id FROM ${s}.pbx_schema_migrations`)).rows.map((r) => r.id));
    for (const m of [...PBX_MIGRATIONS].sort((a, b) => a.id.localeCompare(b.id))) {
      if (done.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${s}`);
        await client.query(m.sql);
        await client.query(`INSERT INTO ${s}.pbx_schema_migrations (id) VALUES ($1)`, [m.id]);
        await client.query('COMMIT');
        applied.push(m.id);
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`pbx-migrate:${schema}`]).catch(() => undefined);
    await client.end();
  }
  return applied;
}

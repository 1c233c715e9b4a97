import type { MigrationInterface, QueryRunner } from 'typeorm';
import { nameKey } from '@pbx/contracts';

const UNIQUE_INDEX = `CREATE UNIQUE INDEX "configurations_name_unique" ON "configurations"  ("kind", "name_key") WHERE deleted_at IS NULL AND ephemeral = false`;

interface Row {
  id: string;
  kind: string;
  name: string;
  listed: boolean;
}

/**
 * name_key becomes nameKey(name) (NFC, case-folded) instead of lower(name): "Café" in NFC and
 * in NFD, or "Straße" and "STRASSE", are one name. Computed here in JavaScript because
 * Postgres' lower() depends on the collation and does not fold "ß". Folding can triple the
 * length, so the column widens.
 *
 * Two listed configurations the old key told apart may now be one name. Both are kept (each
 * has its folders and runs); the newer one gets "/<id>" appended to its key, which no real name
 * can produce ("/" is refused in names), until an admin renames it. Stored names are not
 * rewritten to NFC: the name is the folder of the backups already delivered.
 */
export class CanonicalNameKey1764403200000 implements MigrationInterface {
  name = 'CanonicalNameKey1764403200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "configurations_name_unique"`);
    await q.query(`ALTER TABLE "configurations" ALTER COLUMN "name_key" TYPE character varying(255)`);
    const rows: Row[] = await q.query(
      `SELECT id, kind, name, (deleted_at IS NULL AND ephemeral = false) AS listed FROM configurations ORDER BY created_at, id`,
    );
    const taken = new Set<string>();
    await setKeys(
      q,
      rows.map((r) => {
        const key = nameKey(r.name);
        if (!r.listed) return [r.id, key];
        const unique = taken.has(`${r.kind}/${key}`) ? `${key}/${r.id}` : key;
        taken.add(`${r.kind}/${unique}`);
        return [r.id, unique];
      }),
    );
    await q.query(UNIQUE_INDEX);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "configurations_name_unique"`);
    const rows: Row[] = await q.query(`SELECT id, name FROM configurations`);
    // The previous key, exactly as the api computed it then.
    await setKeys(q, rows.map((r) => [r.id, r.name.toLowerCase()]));
    await q.query(`ALTER TABLE "configurations" ALTER COLUMN "name_key" TYPE character varying(64)`);
    await q.query(UNIQUE_INDEX);
  }
}

async function setKeys(q: QueryRunner, keys: Array<[string, string]>): Promise<void> {
  if (keys.length === 0) return;
  await q.query(`UPDATE configurations c SET name_key = k.key FROM unnest($1::uuid[], $2::text[]) AS k(id, key) WHERE c.id = k.id`, [
    keys.map(([id]) => id),
    keys.map(([, key]) => key),
  ]);
}

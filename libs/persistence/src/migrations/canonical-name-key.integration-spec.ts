import { nameKey } from '@pbx/contracts';
import { migratedDatabase } from '@pbx/testing';
import { pendingSchemaChanges } from '../data-source';
import { CanonicalNameKey1764403200000 } from './1764403200000-canonical-name-key';

describe('migration 1764403200000 canonical name key (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  const migration = new CanonicalNameKey1764403200000();

  beforeAll(async () => {
    db = await migratedDatabase('namekey');
  });
  afterAll(async () => {
    await db?.close();
  });

  const run = async (step: 'up' | 'down') => {
    const qr = db.dataSource.createQueryRunner();
    try {
      await migration[step](qr);
    } finally {
      await qr.release();
    }
  };
  let created = Date.UTC(2026, 0, 1);
  /** A row as the api wrote it before (key lower(name)), each created a second after the last. */
  const insertOld = async (kind: string, name: string, deleted = false): Promise<string> => {
    created += 1000;
    const [row] = await db.dataSource.query(
      `INSERT INTO configurations (kind, name, name_key, report_to, interval, timezone, data, deleted_at, created_at)
       VALUES ($1, $2, $3, 'ops@example.com', 'manual', 'UTC', '{}', $4, $5) RETURNING id`,
      [kind, name, name.toLowerCase(), deleted ? new Date() : null, new Date(created)],
    );
    return (row as { id: string }).id;
  };
  const keys = async () =>
    Object.fromEntries(((await db.dataSource.query(`SELECT id, name_key FROM configurations`)) as Array<{ id: string; name_key: string }>).map((r) => [r.id, r.name_key]));

  it('recomputes every key as nameKey(name), keeps pre-existing look-alikes apart, and leaves no schema drift', async () => {
    await run('down');
    const nfc = await insertOld('backup', 'Caf\u00e9');
    const nfd = await insertOld('backup', 'Cafe\u0301');
    const strasse = await insertOld('backup', 'Stra\u00dfe');
    const upper = await insertOld('backup', 'STRASSE');
    const deleted = await insertOld('backup', 'Nightly', true);
    const live = await insertOld('backup', 'NIGHTLY');
    const archive = await insertOld('archive', 'Cafe\u0301');

    await run('up');

    expect(await keys()).toEqual({
      [nfc]: 'caf\u00e9',
      [nfd]: `caf\u00e9/${nfd}`,
      [strasse]: 'strasse',
      [upper]: `strasse/${upper}`,
      [deleted]: 'nightly',
      [live]: 'nightly',
      [archive]: 'caf\u00e9',
    });
    // Names are left as they were: they are the folders of delivered backups.
    const [{ name }] = await db.dataSource.query(`SELECT name FROM configurations WHERE id = $1`, [nfd]);
    expect(name).toBe('Cafe\u0301');
    // The unique index is back and judges the canonical key.
    await expect(insertOld('backup', 'x').then((id) => db.dataSource.query(`UPDATE configurations SET name_key = $1 WHERE id = $2`, [nameKey('CAFE\u0301'), id]))).rejects.toThrow(/configurations_name_unique/);
    expect(await pendingSchemaChanges(db.dataSource)).toEqual([]);
  });

  it('down restores lower(name) keys', async () => {
    await run('down');
    const rows = (await db.dataSource.query(`SELECT name, name_key FROM configurations`)) as Array<{ name: string; name_key: string }>;
    for (const r of rows) expect(r.name_key).toBe(r.name.toLowerCase());
    await run('up');
    expect(await pendingSchemaChanges(db.dataSource)).toEqual([]);
  });
});

import { createDataSource, ensureDatabaseExists, type DatabaseOptions } from './data-source';

/** Creates the database when missing and applies pending migrations. Returns their names. */
export async function migrateDatabase(options: DatabaseOptions): Promise<string[]> {
  await ensureDatabaseExists(options.url, options.schema);
  const ds = createDataSource({ ...options, poolSize: 2, applicationName: 'pbx-backup-migrate' });
  await ds.initialize();
  try {
    // Several apps may start at once; one migrates, the others wait on the advisory lock.
    await ds.query('SELECT pg_advisory_lock(hashtext($1))', [`pbx-backup-migrate:${options.schema ?? 'public'}`]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

// Dev tool: prints the SQL that would bring an empty schema up to the entities, to seed
// a new migration. Usage: node dist/scripts/generate-migration-sql.js
import { createDataSource, ensureDatabaseExists } from '@pbx/persistence';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx_backup_dev';
  const schema = `gen_${Date.now()}`;
  await ensureDatabaseExists(url, schema);
  const ds = createDataSource({ url, schema });
  await ds.initialize();
  try {
    const log = await ds.driver.createSchemaBuilder().log();
    for (const q of log.upQueries) console.log(q.query.split(`"${schema}".`).join('') + ';');
  } finally {
    await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds.destroy();
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});

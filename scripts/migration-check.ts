// CI check (as Twenty does): migrate a scratch schema, then ask TypeORM what SQL the
// entities still need. Anything at all means an entity changed without a migration.
import { loadEnv } from '@pbx/config';
import { createDataSource, migrateDatabase, pendingSchemaChanges } from '@pbx/persistence';

async function main(): Promise<void> {
  const env = loadEnv(process.env);
  const schema = `migration_check_${process.pid}`;
  await migrateDatabase({ url: env.DATABASE_URL, schema });
  const ds = createDataSource({ url: env.DATABASE_URL, schema, poolSize: 1 });
  await ds.initialize();
  try {
    const pending = await pendingSchemaChanges(ds);
    if (pending.length) {
      console.error(`Entities changed without a migration. Missing SQL:\n${pending.join(';\n')};`);
      process.exitCode = 1;
    } else {
      console.log('migrations match the entities');
    }
  } finally {
    await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
    await ds.destroy();
  }
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});

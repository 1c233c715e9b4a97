// `npm run migrate`: applies pending migrations to DATABASE_URL / DATABASE_SCHEMA.
import { loadEnv } from '@pbx/config';
import { migrateDatabase } from '@pbx/persistence';

async function main(): Promise<void> {
  const env = loadEnv(process.env);
  const applied = await migrateDatabase({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA });
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
}
main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

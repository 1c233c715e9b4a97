// First-start preparation (run by `npm start`): creates the service database and applies
// migrations, creates the PBX database/schema, and seeds a small demo PBX when it is empty
// so a fresh install has something to back up. Never touches a PBX that has data.
import { loadEnv } from '@pbx/config';
import { migrateDatabase } from '@pbx/persistence';
import { ensurePbxDatabase, migratePbxSchema, PostgresPbxSource, seedPbx } from '@pbx/pbx-source';

async function main(): Promise<void> {
  const env = loadEnv(process.env);
  const applied = await migrateDatabase({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA });
  console.log(applied.length ? `service database: applied ${applied.join(', ')}` : 'service database: up to date');
  await ensurePbxDatabase(env.PBX_DATABASE_URL);
  await migratePbxSchema({ databaseUrl: env.PBX_DATABASE_URL, schema: env.PBX_DATABASE_SCHEMA });
  const source = new PostgresPbxSource({ databaseUrl: env.PBX_DATABASE_URL, schema: env.PBX_DATABASE_SCHEMA, dataDir: env.PBX_DATA_DIR });
  try {
    const stats = await source.stats();
    if (stats.rowCounts.users === 0 && process.env.PBX_DEMO_SEED !== '0') {
      await seedPbx({
        databaseUrl: env.PBX_DATABASE_URL,
        schema: env.PBX_DATABASE_SCHEMA,
        dataDir: env.PBX_DATA_DIR,
        users: 20,
        cdr: 5000,
        voicemails: 10,
        announcements: 3,
        maxAudioBytes: 200_000,
        minAudioBytes: 100_000,
      });
      console.log(`PBX was empty: seeded a small demo PBX (${env.PBX_DATABASE_URL}, ${env.PBX_DATA_DIR}); PBX_DEMO_SEED=0 skips this`);
    } else {
      console.log(`PBX data: ${stats.rowCounts.users} users, ${stats.rowCounts.cdr} CDRs, ${stats.dataDirFiles} files`);
    }
  } finally {
    await source.close();
  }
}
main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

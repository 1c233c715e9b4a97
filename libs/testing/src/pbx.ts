import { seedPbx, type SeedPbxOptions } from '@pbx/pbx-source';
import { freshSchema, tempDir, testUrls } from './isolation';

export interface SeededPbx {
  /** The PBX's Postgres schema (in testUrls.database). */
  schema: string;
  /** Its data folder (voicemail/, announcements/). */
  dataDir: string;
  /** Drops the schema and removes the folder. */
  close(): Promise<void>;
}

/** A PBX of its own for one suite: a fresh schema and data folder named after `prefix`, seeded as `seed` says. */
export async function seededPbx(prefix: string, seed: Omit<SeedPbxOptions, 'databaseUrl' | 'schema' | 'dataDir'>): Promise<SeededPbx> {
  const schema = await freshSchema(prefix);
  const data = await tempDir(`pbx-${prefix}-`);
  await seedPbx({ databaseUrl: testUrls.database, schema: schema.name, dataDir: data.path, ...seed });
  return {
    schema: schema.name,
    dataDir: data.path,
    close: async () => {
      await schema.drop();
      await data.remove();
    },
  };
}

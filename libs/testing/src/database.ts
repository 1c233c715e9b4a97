import type { DataSource } from 'typeorm';
import { createDataSource, migrateDatabase } from '@pbx/persistence';
import { freshSchema, testUrls } from './isolation';

/** A migrated schema of its own and a DataSource on it; `close()` drops it all. */
export async function migratedDatabase(prefix = 't'): Promise<{ schema: string; url: string; dataSource: DataSource; close: () => Promise<void> }> {
  const { name, drop } = await freshSchema(prefix);
  await migrateDatabase({ url: testUrls.database, schema: name });
  const dataSource = createDataSource({ url: testUrls.database, schema: name, poolSize: 5 });
  await dataSource.initialize();
  return {
    schema: name,
    url: testUrls.database,
    dataSource,
    close: async () => {
      await dataSource.destroy();
      await drop();
    },
  };
}

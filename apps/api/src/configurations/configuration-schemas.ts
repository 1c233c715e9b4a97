import { createArchiveConfigurationSchema, patchArchiveConfigurationSchema } from '../archive-configurations/archive-configuration.schema';
import { createBackupConfigurationSchema, patchBackupConfigurationSchema } from './configuration.schema';

/** The request schemas, built once with the server's default time zone. */
export class ConfigurationSchemas {
  readonly createBackup: ReturnType<typeof createBackupConfigurationSchema>;
  readonly patchBackup: ReturnType<typeof patchBackupConfigurationSchema>;
  readonly createArchive: ReturnType<typeof createArchiveConfigurationSchema>;
  readonly patchArchive: ReturnType<typeof patchArchiveConfigurationSchema>;

  constructor(defaultTimezone: string) {
    const opts = { defaultTimezone };
    this.createBackup = createBackupConfigurationSchema(opts);
    this.patchBackup = patchBackupConfigurationSchema(opts);
    this.createArchive = createArchiveConfigurationSchema(opts);
    this.patchArchive = patchArchiveConfigurationSchema(opts);
  }
}

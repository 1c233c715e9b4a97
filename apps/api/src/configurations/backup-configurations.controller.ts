import { validate } from '../common/validation';
import { REQUEST_SCHEMA } from '../openapi/request-schemas';
import { configurationsController } from './configurations.controller-factory';
import type { DestinationRecord } from './destination-secrets';

/** /api/v1/backup-configurations */
export const BackupConfigurationsController = configurationsController({
  kind: 'backup',
  path: 'api/v1/backup-configurations',
  tag: 'Backup configurations',
  label: 'backup configuration',
  createSchemaName: REQUEST_SCHEMA.createBackup,
  patchSchemaName: REQUEST_SCHEMA.patchBackup,
  parseCreate(schemas, body) {
    const { action, destinations, ...rest } = validate(schemas.createBackup, body);
    return { action, draft: { ...rest, destinations: destinations as DestinationRecord[] } };
  },
  parsePatch(schemas, body) {
    const { action: _action, destinations, ...rest } = validate(schemas.patchBackup, body);
    return { ...rest, ...(destinations ? { destinations: destinations as DestinationRecord[] } : {}) };
  },
});

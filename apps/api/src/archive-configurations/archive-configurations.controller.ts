import { validate } from '../common/validation';
import { configurationsController } from '../configurations/configurations.controller-factory';
import type { DestinationRecord } from '../configurations/destination-secrets';
import { REQUEST_SCHEMA } from '../openapi/request-schemas';

/** /api/v1/archive-configurations: same rules as backups; `items` are stored as the data. */
export const ArchiveConfigurationsController = configurationsController({
  kind: 'archive',
  path: 'api/v1/archive-configurations',
  tag: 'Archive configurations',
  label: 'archive configuration',
  createSchemaName: REQUEST_SCHEMA.createArchive,
  patchSchemaName: REQUEST_SCHEMA.patchArchive,
  parseCreate(schemas, body) {
    const { action, destinations, items, ...rest } = validate(schemas.createArchive, body);
    return { action, draft: { ...rest, data: items, destinations: destinations as DestinationRecord[] } };
  },
  parsePatch(schemas, body) {
    const { action: _action, destinations, items, ...rest } = validate(schemas.patchArchive, body);
    return { ...rest, ...(items ? { data: items } : {}), ...(destinations ? { destinations: destinations as DestinationRecord[] } : {}) };
  },
});

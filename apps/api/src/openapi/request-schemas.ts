import { z } from 'zod';
import { createArchiveConfigurationSchema, patchArchiveConfigurationSchema } from '../archive-configurations/archive-configuration.schema';
import { destinationSchema } from '@pbx/contracts';
import { createBackupConfigurationSchema, patchBackupConfigurationSchema } from '../configurations/configuration.schema';
import { restoreRequestSchema } from '../restores/restore.schema';
import { deadLettersBulkBodySchema, deadLettersQuerySchema, paginationQuerySchema, runsQuerySchema } from '../common/validation';
import { destinationTestBodySchema } from '../destinations/destination-test.schema';

/** Names under which the zod request schemas appear in components.schemas. */
export const REQUEST_SCHEMA = {
  createBackup: 'CreateBackupConfigurationRequest',
  patchBackup: 'PatchBackupConfigurationRequest',
  createArchive: 'CreateArchiveConfigurationRequest',
  patchArchive: 'PatchArchiveConfigurationRequest',
  destination: 'DestinationRequest',
  destinationTest: 'DestinationTestRequest',
  deadLettersBulk: 'DeadLettersBulkRequest',
  pagination: 'PaginationQuery',
  runsQuery: 'RunsQuery',
  deadLettersQuery: 'DeadLettersQuery',
  restore: 'RestoreRequest',
} as const;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The request schemas as JSON Schema (the very objects requests are validated with). */
export function requestSchemaComponents(defaultTimezone: string): Record<string, Record<string, unknown>> {
  const opts = { defaultTimezone };
  const schemas: Record<string, z.ZodType> = {
    [REQUEST_SCHEMA.createBackup]: createBackupConfigurationSchema(opts),
    [REQUEST_SCHEMA.patchBackup]: patchBackupConfigurationSchema(opts),
    [REQUEST_SCHEMA.createArchive]: createArchiveConfigurationSchema(opts),
    [REQUEST_SCHEMA.patchArchive]: patchArchiveConfigurationSchema(opts),
    [REQUEST_SCHEMA.destination]: destinationSchema,
    [REQUEST_SCHEMA.destinationTest]: destinationTestBodySchema,
    [REQUEST_SCHEMA.deadLettersBulk]: deadLettersBulkBodySchema,
    [REQUEST_SCHEMA.pagination]: paginationQuerySchema,
    [REQUEST_SCHEMA.runsQuery]: runsQuerySchema,
    [REQUEST_SCHEMA.deadLettersQuery]: deadLettersQuerySchema,
    [REQUEST_SCHEMA.restore]: restoreRequestSchema,
  };
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => {
      const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      delete json.$schema;
      return [name, json];
    }),
  );
}

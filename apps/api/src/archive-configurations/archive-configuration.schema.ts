import { z } from 'zod';
import { createConfigurationSchema, patchConfigurationSchema } from '../configurations/configuration.schema';
import type { ConfigurationSchemaOptions } from '../configurations/schedule-fields';

/**
 * Request schemas of /api/v1/archive-configurations: same conventions as backup configurations
 * (names, schedule, destinations, strict objects), but instead of `data` the `items` to archive
 * and then delete from the PBX.
 */

/** Upper bound for daysToKeep (100 years): anything larger is a typo. */
export const DAYS_TO_KEEP_MAX = 36500;

const daysToKeep = z
  .number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a whole number of days (0 = archive everything)') })
  .int({ error: 'must be a whole number of days (0 = archive everything)' })
  .min(0, { error: 'must be 0 or more (0 = archive everything)' })
  .max(DAYS_TO_KEEP_MAX, { error: `must be at most ${DAYS_TO_KEEP_MAX}` });

/** One kind of data to archive. Given = complete; left out = not archived. */
const archiveItem = z
  .strictObject(
    {
      enabled: z.boolean({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be true or false') }),
      daysToKeep,
    },
    { error: (iss) => (iss.input === undefined ? 'is required' : 'must be an object like { "enabled": true, "daysToKeep": 90 }') },
  )
  .default({ enabled: false, daysToKeep: 0 });

const itemsSchema = z
  .strictObject(
    { cdr: archiveItem, voicemails: archiveItem },
    { error: (iss) => (iss.input === undefined ? 'is required' : 'must be an object like { "cdr": { "enabled": true, "daysToKeep": 90 } }') },
  )
  .superRefine((v, ctx) => {
    if (!v.cdr.enabled && !v.voicemails.enabled) {
      ctx.addIssue({ code: 'custom', message: 'must enable at least one of cdr, voicemails' });
    }
  });

export function createArchiveConfigurationSchema(opts: ConfigurationSchemaOptions) {
  return createConfigurationSchema(opts, { subject: { items: itemsSchema }, keeping: {}, checks: {} });
}

/** PATCH: every field optional, no defaults; `destinations` and `items` replace the stored ones. */
export function patchArchiveConfigurationSchema(_opts?: ConfigurationSchemaOptions) {
  return patchConfigurationSchema({ subject: { items: itemsSchema.optional() }, keeping: {}, checks: {} });
}

export type CreateArchiveConfigurationSchema = ReturnType<typeof createArchiveConfigurationSchema>;
export type PatchArchiveConfigurationSchema = ReturnType<typeof patchArchiveConfigurationSchema>;
export type CreateArchiveConfigurationInput = z.output<CreateArchiveConfigurationSchema>;
export type CreateArchiveConfigurationBody = z.input<CreateArchiveConfigurationSchema>;
export type PatchArchiveConfigurationInput = z.output<PatchArchiveConfigurationSchema>;
export type PatchArchiveConfigurationBody = z.input<PatchArchiveConfigurationSchema>;
export type ArchiveItemsInput = z.output<typeof itemsSchema>;

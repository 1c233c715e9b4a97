import { z } from 'zod';
import { bool, DEFAULT_LANGUAGE, destinationSchema, intBetween, mustBe, patchDestinationSchema, retentionRuleSchema, uploadWindowsSchema, verifySettingsSchema } from '@pbx/contracts';
import { actionNotAllowed, commonFields } from './configuration-fields';
import { destinationListSchema } from './destination-fields';
import { checkedDefaultTimezone, scheduleRules, type ConfigurationSchemaOptions, type SchemaMode } from './schedule-fields';

/**
 * Request schemas of /api/v1/backup-configurations, and how a configuration request of either
 * kind is put together (archive-configuration.schema.ts uses it too). The shared fields are in
 * configuration-fields.ts and schedule-fields.ts; each destination is the contracts' union
 * (libs/contracts/src/domain/destinations.ts).
 */

// The shared fields come in groups so that each kind's own fit in between: the order of the
// fields is the order of the pinned OpenAPI document and of the problems a request gets back.

/** The fields every configuration request has, in create form: defaults applied. */
function createFields(opts: ConfigurationSchemaOptions) {
  return {
    head: {
      name: commonFields.name,
      reportTo: commonFields.reportTo,
      interval: commonFields.interval,
      startAt: commonFields.startAt.optional(),
      timezone: commonFields.timezone.default(checkedDefaultTimezone(opts)),
    },
    destinations: { destinations: destinationListSchema(destinationSchema) },
    middle: { notifyOnSuccess: commonFields.notifyOnSuccess.default(false), language: commonFields.language.default(DEFAULT_LANGUAGE), encryption: commonFields.encryption },
    tail: { webhooks: commonFields.webhooks.default([]), action: commonFields.action.default('save') },
  };
}

/** In patch form: every field optional and no defaults (absent = unchanged), `action` refused. */
function patchFields() {
  return {
    head: {
      name: commonFields.name.optional(),
      reportTo: commonFields.reportTo.optional(),
      interval: commonFields.interval.optional(),
      startAt: commonFields.startAt.optional(),
      timezone: commonFields.timezone.optional(),
    },
    destinations: { destinations: destinationListSchema(patchDestinationSchema).optional() },
    middle: { notifyOnSuccess: commonFields.notifyOnSuccess.optional(), language: commonFields.language.optional(), encryption: commonFields.encryptionPatch.optional() },
    tail: { webhooks: commonFields.webhooks.optional(), action: actionNotAllowed },
  };
}

type Shape = z.ZodRawShape;
/** A kind's own request fields, each group in its documented place among the shared ones. */
interface KindFields<S extends Shape, K extends Shape, C extends Shape> {
  /** What the configuration takes (backup `data`, archive `items`): after the name, report-to address and schedule. */
  subject: S;
  /** How the copies are kept and sent (retention, upload windows): after the destinations. */
  keeping: K;
  /** Checks after upload (verify): after the encryption. */
  checks: C;
}

function configurationRequestSchema<A extends Shape, D extends Shape, R extends Shape, L extends Shape, S extends Shape, K extends Shape, C extends Shape>(
  mode: SchemaMode,
  shared: { head: A; destinations: D; middle: R; tail: L },
  own: KindFields<S, K, C>,
) {
  const [rule, params] = scheduleRules(mode);
  const shape = { ...shared.head, ...own.subject, ...shared.destinations, ...own.keeping, ...shared.middle, ...own.checks, ...shared.tail };
  return z.strictObject(shape, { error: mustBe('a JSON object') }).superRefine(rule, params);
}

/** A create request of a configuration kind: the shared fields with defaults, and the kind's own. */
export function createConfigurationSchema<S extends Shape, K extends Shape, C extends Shape>(opts: ConfigurationSchemaOptions, own: KindFields<S, K, C>) {
  return configurationRequestSchema('create', createFields(opts), own);
}

/** A patch request of a configuration kind: every field optional, no defaults; lists replace the stored ones. */
export function patchConfigurationSchema<S extends Shape, K extends Shape, C extends Shape>(own: KindFields<S, K, C>) {
  return configurationRequestSchema('patch', patchFields(), own);
}

export const KEEP_LAST_MAX = 1000;

const dataSchema = z
  .strictObject(
    {
      coreData: bool().default(false),
      cdrAndVoicemails: bool().default(false),
      announcements: bool().default(false),
    },
    { error: mustBe('an object like { "coreData": true }') },
  )
  .superRefine((v, ctx) => {
    if (!v.coreData && !v.cdrAndVoicemails && !v.announcements) {
      ctx.addIssue({ code: 'custom', message: 'must select at least one of coreData, cdrAndVoicemails, announcements' });
    }
  });

export function createBackupConfigurationSchema(opts: ConfigurationSchemaOptions) {
  return createConfigurationSchema(opts, {
    subject: { data: dataSchema },
    keeping: {
      keepLast: intBetween(1, KEEP_LAST_MAX).optional(),
      keepDaily: retentionRuleSchema('keepDaily').optional(),
      keepWeekly: retentionRuleSchema('keepWeekly').optional(),
      keepMonthly: retentionRuleSchema('keepMonthly').optional(),
      maxAgeDays: retentionRuleSchema('maxAgeDays').optional(),
      uploadWindows: uploadWindowsSchema.optional(),
    },
    checks: { verify: verifySettingsSchema.default({ afterUpload: 'size' }) },
  });
}

/**
 * PATCH: every field optional and no defaults (absent = unchanged). `destinations` replaces the
 * whole list; `keepLast: null` (likewise keepDaily, keepWeekly, keepMonthly, maxAgeDays) removes
 * the limit, `uploadWindows: []` allows uploads at any time. Options are accepted for symmetry with create.
 */
export function patchBackupConfigurationSchema(_opts?: ConfigurationSchemaOptions) {
  return patchConfigurationSchema({
    subject: { data: dataSchema.optional() },
    keeping: {
      keepLast: intBetween(1, KEEP_LAST_MAX).nullable().optional(),
      keepDaily: retentionRuleSchema('keepDaily').nullable().optional(),
      keepWeekly: retentionRuleSchema('keepWeekly').nullable().optional(),
      keepMonthly: retentionRuleSchema('keepMonthly').nullable().optional(),
      maxAgeDays: retentionRuleSchema('maxAgeDays').nullable().optional(),
      uploadWindows: uploadWindowsSchema.optional(),
    },
    checks: { verify: verifySettingsSchema.optional() },
  });
}

export type CreateBackupConfigurationSchema = ReturnType<typeof createBackupConfigurationSchema>;
export type PatchBackupConfigurationSchema = ReturnType<typeof patchBackupConfigurationSchema>;
/** A validated create request (defaults applied). */
export type CreateBackupConfigurationInput = z.output<CreateBackupConfigurationSchema>;
/** What a client may send on create. */
export type CreateBackupConfigurationBody = z.input<CreateBackupConfigurationSchema>;
export type PatchBackupConfigurationInput = z.output<PatchBackupConfigurationSchema>;
export type PatchBackupConfigurationBody = z.input<PatchBackupConfigurationSchema>;
export type BackupDataSelection = z.output<typeof dataSchema>;

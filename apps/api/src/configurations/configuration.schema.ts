import { z } from 'zod';
import { bool, DEFAULT_LANGUAGE, destinationSchema, intBetween, mustBe, patchDestinationSchema, retentionRuleSchema, uploadWindowsSchema, verifySettingsSchema } from '@pbx/contracts';
import { actionNotAllowed, commonFields } from './configuration-fields';
import { destinationListSchema } from './destination-fields';
import { checkedDefaultTimezone, scheduleRules, type ConfigurationSchemaOptions } from './schedule-fields';

/**
 * Request schemas of /api/v1/backup-configurations. The fields shared with archive
 * configurations are in configuration-fields.ts and schedule-fields.ts; each destination is
 * the contracts' union (libs/contracts/src/domain/destinations.ts).
 */

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
  const defaultTimezone = checkedDefaultTimezone(opts);
  const [rule, params] = scheduleRules('create');
  return z
    .strictObject(
      {
        name: commonFields.name,
        reportTo: commonFields.reportTo,
        interval: commonFields.interval,
        startAt: commonFields.startAt.optional(),
        timezone: commonFields.timezone.default(defaultTimezone),
        data: dataSchema,
        destinations: destinationListSchema(destinationSchema),
        keepLast: intBetween(1, KEEP_LAST_MAX).optional(),
        keepDaily: retentionRuleSchema('keepDaily').optional(),
        keepWeekly: retentionRuleSchema('keepWeekly').optional(),
        keepMonthly: retentionRuleSchema('keepMonthly').optional(),
        maxAgeDays: retentionRuleSchema('maxAgeDays').optional(),
        uploadWindows: uploadWindowsSchema.optional(),
        notifyOnSuccess: commonFields.notifyOnSuccess.default(false),
        language: commonFields.language.default(DEFAULT_LANGUAGE),
        encryption: commonFields.encryption,
        verify: verifySettingsSchema.default({ afterUpload: 'size' }),
        webhooks: commonFields.webhooks.default([]),
        action: commonFields.action.default('save'),
      },
      { error: mustBe('a JSON object') },
    )
    .superRefine(rule, params);
}

/**
 * PATCH: every field optional and no defaults (absent = unchanged). `destinations` replaces the
 * whole list; `keepLast: null` (likewise keepDaily, keepWeekly, keepMonthly, maxAgeDays) removes
 * the limit, `uploadWindows: []` allows uploads at any time. Options are accepted for symmetry with create.
 */
export function patchBackupConfigurationSchema(_opts?: ConfigurationSchemaOptions) {
  const [rule, params] = scheduleRules('patch');
  return z
    .strictObject(
      {
        name: commonFields.name.optional(),
        reportTo: commonFields.reportTo.optional(),
        interval: commonFields.interval.optional(),
        startAt: commonFields.startAt.optional(),
        timezone: commonFields.timezone.optional(),
        data: dataSchema.optional(),
        destinations: destinationListSchema(patchDestinationSchema).optional(),
        keepLast: intBetween(1, KEEP_LAST_MAX).nullable().optional(),
        keepDaily: retentionRuleSchema('keepDaily').nullable().optional(),
        keepWeekly: retentionRuleSchema('keepWeekly').nullable().optional(),
        keepMonthly: retentionRuleSchema('keepMonthly').nullable().optional(),
        maxAgeDays: retentionRuleSchema('maxAgeDays').nullable().optional(),
        uploadWindows: uploadWindowsSchema.optional(),
        notifyOnSuccess: commonFields.notifyOnSuccess.optional(),
        language: commonFields.language.optional(),
        encryption: commonFields.encryptionPatch.optional(),
        verify: verifySettingsSchema.optional(),
        webhooks: commonFields.webhooks.optional(),
        action: actionNotAllowed,
      },
      { error: mustBe('a JSON object') },
    )
    .superRefine(rule, params);
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

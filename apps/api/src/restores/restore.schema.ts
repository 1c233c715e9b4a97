import { z } from 'zod';
import { bool, mustBe, partialRestoreUnit, restoreModeSchema, restoreSectionSchema, restoreSectionsOf, restoreSourceSchema } from '@pbx/contracts';

/** POST /api/v1/restores. Without `sections`: every section the archive holds. */
export const restoreRequestSchema = z
  .strictObject(
    {
      source: restoreSourceSchema,
      /** The archive's sections (core, cdr, voicemail, announcements; the units' names coreData, cdrAndVoicemails are still accepted), stored as archive sections. */
      sections: z
        .array(restoreSectionSchema, { error: mustBe('a list of sections') })
        .min(1)
        .superRefine((names, ctx) => {
          const partial = partialRestoreUnit(names);
          if (partial) ctx.addIssue({ code: 'custom', message: partial });
        })
        .transform(restoreSectionsOf)
        .optional(),
      mode: restoreModeSchema.default('replace'),
      preview: bool().default(false),
      allowOtherPbx: bool().default(false),
      /** An encrypted archive's passphrase, or the age identity (AGE-SECRET-KEY-1…); write-only. */
      passphrase: z.string({ error: mustBe('a string') }).min(1).max(1024).optional(),
      identity: z.string({ error: mustBe('a string') }).regex(/^AGE-SECRET-KEY-1[0-9A-Z]+$/, { error: 'must be an age identity (AGE-SECRET-KEY-1…)' }).optional(),
    },
    { error: mustBe('a JSON object') },
  )
  .refine((v) => !(v.passphrase && v.identity), { error: 'give either passphrase or identity, not both', path: ['identity'] });
export type RestoreRequest = z.output<typeof restoreRequestSchema>;

import { z } from 'zod';
import { bool, canonicalName, email, encryptionSchema, LANGUAGES, mustBe, oneOf, patchEncryptionSchema, portableNameProblems, webhookListSchema } from '@pbx/contracts';
import { intervalField, startAtField, timezoneField } from './schedule-fields';

/**
 * The top-level fields backup and archive configuration requests share. Every message is
 * written for an admin reading it next to the field name; none repeats the submitted value.
 *
 * All schemas convert with `z.toJSONSchema(schema, { io: 'input' })` (refinements are not
 * represented; they are re-checked on every request anyway).
 */

export const ACTIONS = ['save', 'saveAndRun', 'runOnly'] as const;
export type ConfigurationAction = (typeof ACTIONS)[number];

export const NAME_MAX_LENGTH = 64;

/** Everything wrong with a configuration name; empty when it is usable as a folder name. */
export function nameProblems(v: string): string[] {
  if (v.length === 0) return ['must not be empty'];
  return [...(v.length > NAME_MAX_LENGTH ? [`must be at most ${NAME_MAX_LENGTH} characters`] : []), ...portableNameProblems(v)];
}

// The name becomes a folder on every destination. Stored NFC, so every spelling of a name makes
// the same folder; the checks (length as zod checks so the JSON Schema shows minLength/maxLength)
// judge the stored form.
export const configurationNameSchema = z
  .string({ error: mustBe('a string') })
  .overwrite(canonicalName)
  .min(1, { error: 'must not be empty' })
  .max(NAME_MAX_LENGTH, { error: `must be at most ${NAME_MAX_LENGTH} characters` })
  .superRefine((v, ctx) => {
    if (v.length === 0) return;
    for (const message of portableNameProblems(v)) ctx.addIssue({ code: 'custom', message });
  })
  .meta({ description: 'Unique name (compared after Unicode NFC normalisation and case folding); stored NFC; also the folder name on every destination.' });

export const commonFields = {
  name: configurationNameSchema,
  reportTo: email(),
  interval: intervalField,
  startAt: startAtField,
  timezone: timezoneField,
  action: oneOf(ACTIONS),
  language: oneOf(LANGUAGES),
  notifyOnSuccess: bool(),
  /** age encryption of the archives; default none. */
  encryption: encryptionSchema.default({ mode: 'none' }),
  /** On PATCH: in passphrase mode an omitted passphrase keeps the stored one. */
  encryptionPatch: patchEncryptionSchema,
  /** Where the notifier also tells (docs/notifications.md); PATCH replaces the whole list, an entry with an id keeps its secret when `secret` is omitted. */
  webhooks: webhookListSchema,
} as const;

/** PATCH refuses `action`: running is its own request. */
export const actionNotAllowed = z
  .never({ error: 'is only allowed when creating a configuration (use the run endpoint to start one)' })
  .optional();

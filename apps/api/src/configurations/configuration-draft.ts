import type { z } from 'zod';
import { encryptionSettingsOf, nameKey, type EncryptionInput, type UploadWindow, type VerifySettings, type WebhookInput } from '@pbx/contracts';
import type { ConfigurationEntity } from '@pbx/persistence';
import type { CreateArchiveConfigurationSchema, PatchArchiveConfigurationSchema } from '../archive-configurations/archive-configuration.schema';
import type { CreateBackupConfigurationSchema, PatchBackupConfigurationSchema } from './configuration.schema';
import type { DestinationRecord } from './destination-secrets';

/**
 * What the service receives from a validated request, derived from the request schemas
 * (z.output), and how each field is stored. A field added to a request schema and not mapped in
 * COLUMNS fails to compile, so it cannot be dropped silently on its way to the database.
 */

/** The request's stored fields: `action` is not stored, destinations are rows of their own. */
type Fields<T> = Omit<T, 'action' | 'destinations'>;
/** Archive `items` are stored as the configuration's data. */
type AsData<T> = Omit<T, 'items'> & ('items' extends keyof T ? { data: T['items' & keyof T] } : unknown);
type Common<A, B> = Pick<A, keyof A & keyof B>;
/** Both kinds in one shape (shared fields keep their optionality; fields of one kind only are optional). */
type Either<A, B> = { [K in keyof Common<A, B>]: Common<A, B>[K] | B[K & keyof B] } & { [K in Exclude<keyof A, keyof B>]?: A[K] } & { [K in Exclude<keyof B, keyof A>]?: B[K] };

type CreateFields = Either<Fields<z.output<CreateBackupConfigurationSchema>>, AsData<Fields<z.output<CreateArchiveConfigurationSchema>>>>;
type PatchFields = Either<Fields<z.output<PatchBackupConfigurationSchema>>, AsData<Fields<z.output<PatchArchiveConfigurationSchema>>>>;

/** A validated create request of either kind (archive `items` arrive as `data`). */
export type ConfigurationDraft = CreateFields & { destinations: DestinationRecord[] };
/** A validated PATCH: absent fields are unchanged. */
export type ConfigurationPatch = PatchFields & { destinations?: DestinationRecord[] };

export type ConfigurationField = keyof CreateFields;

type Columns = Partial<ConfigurationEntity>;

/** How each request field is stored (a value that is given; absent means unchanged). */
const COLUMNS = {
  name: (name: string) => ({ name, nameKey: nameKey(name) }),
  reportTo: (reportTo: string) => ({ reportTo }),
  interval: (interval: ConfigurationEntity['interval']) => ({ interval }),
  startAt: (startAt: string) => ({ startAt }),
  timezone: (timezone: string) => ({ timezone }),
  data: (data: ConfigurationEntity['data']) => ({ data }),
  keepLast: (keepLast: number | null) => ({ keepLast }),
  keepDaily: (keepDaily: number | null) => ({ keepDaily }),
  keepWeekly: (keepWeekly: number | null) => ({ keepWeekly }),
  keepMonthly: (keepMonthly: number | null) => ({ keepMonthly }),
  maxAgeDays: (maxAgeDays: number | null) => ({ maxAgeDays }),
  uploadWindows: (uploadWindows: UploadWindow[]) => ({ uploadWindows }),
  notifyOnSuccess: (notifyOnSuccess: boolean) => ({ notifyOnSuccess }),
  language: (language: ConfigurationEntity['language']) => ({ language }),
  // The passphrase is never a column value here: the service seals it (ConfigurationsService).
  encryption: (encryption: EncryptionInput) => ({ encryption: encryptionSettingsOf(encryption) }),
  verify: (verify: VerifySettings) => ({ verify }),
  // Stored by the service: new ones get an id, secrets are sealed apart (ConfigurationsService).
  webhooks: (_webhooks: WebhookInput[]) => ({}),
} satisfies { [K in ConfigurationField]-?: (value: Exclude<PatchFields[K], undefined>) => Columns };

/** The columns of the fields a request gives. */
export function configurationColumns(fields: PatchFields | CreateFields): Columns {
  const columns: Columns = {};
  for (const [field, toColumns] of Object.entries(COLUMNS) as [ConfigurationField, (value: unknown) => Columns][]) {
    const value = (fields as Record<ConfigurationField, unknown>)[field];
    if (value !== undefined) Object.assign(columns, toColumns(value));
  }
  return columns;
}

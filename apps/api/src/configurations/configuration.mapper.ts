import type { EncryptionSettings, UploadWindow, VerifySettings, WebhookSettings } from '@pbx/contracts';
import type { ArchiveItems, BackupSections, ConfigurationEntity, DestinationEntity } from '@pbx/persistence';
import type { ConfigurationField } from './configuration-draft';
import { SECRET_MARKER, secretFlag } from './destination-secrets';

/** The archives' encryption as responses show it: the public keys, for a passphrase only `hasPassphrase`. */
export type EncryptionResponse = Exclude<EncryptionSettings, { mode: 'passphrase' }> | { mode: 'passphrase'; hasPassphrase: boolean };

/** A webhook as responses show it: never its secret, only whether one is stored. */
export type WebhookResponse = WebhookSettings & { hasSecret: boolean };

/** A destination as responses show it: settings, and for each stored secret a marker and a flag. */
export type DestinationResponse = { id: string; type: string } & Record<string, unknown>;

export interface ConfigurationResponse {
  id: string;
  kind: 'backup' | 'archive';
  name: string;
  reportTo: string;
  interval: string;
  startAt: string | null;
  timezone: string;
  data?: BackupSections;
  items?: ArchiveItems;
  keepLast?: number | null;
  /** Backup configurations: retention beside keepLast (null = off) and when uploads may start. */
  keepDaily?: number | null;
  keepWeekly?: number | null;
  keepMonthly?: number | null;
  maxAgeDays?: number | null;
  uploadWindows?: UploadWindow[];
  /** Backup configurations: how stored copies are checked. */
  verify?: VerifySettings;
  destinations: DestinationResponse[];
  notifyOnSuccess: boolean;
  language: string;
  encryption: EncryptionResponse;
  webhooks: WebhookResponse[];
  nextRunAt: string | null;
  lastSuccessAt: string | null;
  /** List and read only: the newest run, so a list shows each one's last result without a request per row. */
  lastRun?: LastRunResponse | null;
  createdAt: string;
  updatedAt: string;
}

export interface LastRunResponse {
  id: string;
  status: string;
  finishedAt: string | null;
  createdAt: string;
}

export function toLastRunResponse(r: { id: string; status: string; finishedAt: Date | null; createdAt: Date } | undefined): LastRunResponse | null {
  return r ? { id: r.id, status: r.status, finishedAt: r.finishedAt?.toISOString() ?? null, createdAt: r.createdAt.toISOString() } : null;
}

/** Never includes a secret value: only `"password": "***"` and `hasPassword: true`. */
export function toDestinationResponse(d: DestinationEntity): DestinationResponse {
  const out: DestinationResponse = { id: d.id, type: d.type, ...d.settings };
  for (const field of Object.keys(d.secrets ?? {})) {
    out[field] = SECRET_MARKER;
    out[secretFlag(field)] = true;
  }
  return out;
}

type Shown = Partial<ConfigurationResponse>;

/** Each request field as responses show it: a field added to a request schema and not shown here fails to compile. */
const SHOWN = {
  name: (c) => ({ name: c.name }),
  reportTo: (c) => ({ reportTo: c.reportTo }),
  interval: (c) => ({ interval: c.interval }),
  startAt: (c) => ({ startAt: c.startAt }),
  timezone: (c) => ({ timezone: c.timezone }),
  data: (c) => (c.kind === 'archive' ? { items: c.data as ArchiveItems } : { data: c.data as BackupSections }),
  keepLast: (c) => (c.kind === 'archive' ? {} : { keepLast: c.keepLast }),
  keepDaily: (c) => (c.kind === 'archive' ? {} : { keepDaily: c.keepDaily }),
  keepWeekly: (c) => (c.kind === 'archive' ? {} : { keepWeekly: c.keepWeekly }),
  keepMonthly: (c) => (c.kind === 'archive' ? {} : { keepMonthly: c.keepMonthly }),
  maxAgeDays: (c) => (c.kind === 'archive' ? {} : { maxAgeDays: c.maxAgeDays }),
  uploadWindows: (c) => (c.kind === 'archive' ? {} : { uploadWindows: c.uploadWindows }),
  notifyOnSuccess: (c) => ({ notifyOnSuccess: c.notifyOnSuccess }),
  language: (c) => ({ language: c.language }),
  encryption: (c) => ({ encryption: toEncryptionResponse(c) }),
  verify: (c) => (c.kind === 'archive' ? {} : { verify: c.verify }),
  webhooks: (c) => ({ webhooks: (c.webhooks ?? []).map((w) => ({ id: w.id, url: w.url, format: w.format, events: w.events, hasSecret: Object.hasOwn(c.webhookSecrets ?? {}, w.id) })) }),
} satisfies Record<ConfigurationField, (c: ConfigurationEntity) => Shown>;

export function toConfigurationResponse(c: ConfigurationEntity, destinations: DestinationEntity[]): ConfigurationResponse {
  const active = destinations.filter((d) => !d.removedAt).sort((a, b) => a.position - b.position);
  const fields = Object.assign({}, ...Object.values(SHOWN).map((show) => show(c))) as Pick<ConfigurationResponse, 'name' | 'reportTo' | 'interval' | 'startAt' | 'timezone' | 'notifyOnSuccess' | 'language' | 'encryption' | 'webhooks'>;
  return {
    id: c.id,
    kind: c.kind,
    ...fields,
    destinations: active.map(toDestinationResponse),
    nextRunAt: c.nextRunAt?.toISOString() ?? null,
    lastSuccessAt: c.lastSuccessAt?.toISOString() ?? null,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

function toEncryptionResponse(c: Pick<ConfigurationEntity, 'encryption' | 'encryptionPassphrase'>): EncryptionResponse {
  const settings = c.encryption ?? { mode: 'none' };
  return settings.mode === 'passphrase' ? { mode: 'passphrase', hasPassphrase: c.encryptionPassphrase !== null } : settings;
}

import type { Action, Configuration, CreateBackupConfiguration, DestinationRequest, DestinationType, Interval } from '../api/client';
import { encryptionFormOf, encryptionProblem, NO_ENCRYPTION_FORM, toEncryption, type EncryptionForm, type EncryptionProblem } from './encryption-state';

/** The wizard's form: strings as typed; turned into the API's request body by toRequest. */
export interface WizardForm {
  name: string;
  reportTo: string;
  interval: Interval;
  startDate: string; // YYYY-MM-DD, wall date in `timezone`
  startTime: string; // HH:mm
  timezone: string;
  data: { coreData: boolean; cdrAndVoicemails: boolean; announcements: boolean };
  type: DestinationType | null;
  /** Access data of the chosen destination, by the API's field names (host, username, …). */
  fields: Record<string, string>;
  /** SFTP: the host key fingerprint the user confirmed (sent as hostKeyFingerprint). */
  confirmedFingerprint: string | null;
  /** SFTP: the key the server presented when saving was refused (422 host_key_unconfirmed). */
  presentedFingerprint: string | null;
  /** age encryption of the archives (step 3, below the destination). */
  encryption: EncryptionForm;
  action: Action;
}

export const INTERVALS: readonly Interval[] = ['manual', 'hourly', 'daily', 'weekly', 'monthly'];
export const ACTIONS: readonly Action[] = ['saveAndRun', 'runOnly', 'save'];
export const SECRET_FIELDS = ['password', 'authorizationCode', 'secretAccessKey'];
/** Fields the api takes as numbers or booleans (the form keeps strings; a checkbox is 'true' or ''). */
const NUMBER_FIELDS = ['port', 'objectLockDays', 'maxUploadBytesPerSecond'];
const BOOLEAN_FIELDS = ['forcePathStyle'];

/** Which step shows a field; API errors jump there (errors[].field, e.g. destinations[0].host). */
export function stepOfField(field: string): number {
  if (field.startsWith('data')) return 1;
  if (field.startsWith('destinations') || field.startsWith('encryption')) return 2;
  if (field === 'action' || field === 'body') return 3;
  return 0;
}

/** `destinations[0].host` → `host`: the key the destination form uses. */
export function destinationField(field: string): string | null {
  const m = /^destinations\[0\]\.?(.*)$/.exec(field);
  return m ? m[1] || 'type' : null;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Tomorrow 02:00 wall time in the zone: a quiet hour, as STARFACE suggests nightly backups. */
export function defaultStart(timeZone: string, now = new Date()): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(now.getTime() + 86_400_000));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: '02:00' };
}

/** A stored startAt (wall time, or ISO with offset) as date and time in the configuration's zone. */
export function splitStart(startAt: string | null | undefined, timeZone: string): { date: string; time: string } | null {
  if (!startAt) return null;
  const wall = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?$/.exec(startAt);
  if (wall) return { date: wall[1], time: wall[2] };
  const d = new Date(startAt);
  if (Number.isNaN(d.getTime())) return null;
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${pad(Number(get('hour')))}:${get('minute')}` };
}

export function emptyForm(timezone: string, interval: Interval = 'manual'): WizardForm {
  const start = defaultStart(timezone);
  return {
    name: '',
    reportTo: '',
    interval,
    startDate: start.date,
    startTime: start.time,
    timezone,
    data: { coreData: true, cdrAndVoicemails: false, announcements: false },
    type: null,
    fields: {},
    confirmedFingerprint: null,
    presentedFingerprint: null,
    encryption: NO_ENCRYPTION_FORM,
    action: 'saveAndRun',
  };
}

/** An existing configuration in the wizard: its first destination is the one step 3 edits. */
export function formFromConfiguration(c: Configuration): WizardForm {
  const start = splitStart(c.startAt, c.timezone) ?? defaultStart(c.timezone);
  const first = c.destinations[0] as Record<string, unknown> | undefined;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(first ?? {})) {
    // Secrets come back as "***": the form leaves them empty, meaning "keep the stored one".
    if (k === 'id' || k === 'type' || k.startsWith('has') || SECRET_FIELDS.includes(k) || k === 'hostKeyFingerprint') continue;
    if (typeof v === 'string' || typeof v === 'number') fields[k] = String(v);
    if (typeof v === 'boolean') fields[k] = v ? 'true' : '';
  }
  return {
    name: c.name,
    reportTo: c.reportTo,
    interval: c.interval,
    startDate: start.date,
    startTime: start.time,
    timezone: c.timezone,
    data: { coreData: Boolean(c.data?.coreData), cdrAndVoicemails: Boolean(c.data?.cdrAndVoicemails), announcements: Boolean(c.data?.announcements) },
    type: (first?.type as DestinationType | undefined) ?? null,
    fields,
    confirmedFingerprint: typeof first?.hostKeyFingerprint === 'string' ? first.hostKeyFingerprint : null,
    presentedFingerprint: null,
    encryption: encryptionFormOf(c),
    action: 'save',
  };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
type Problems = Record<string, 'required' | 'invalidEmail' | 'atLeastOne' | 'chooseDestination' | 'fingerprintRequired' | EncryptionProblem>;

/** What a step needs before Next (the api checks everything again; its errors land beside the field). */
export function validateStep(step: number, f: WizardForm, editing: boolean): Problems {
  const p: Problems = {};
  const need = (key: string, value: string | undefined) => {
    if (!value?.trim()) p[key] = 'required';
  };
  if (step === 0) {
    need('name', f.name);
    need('reportTo', f.reportTo);
    if (!p.reportTo && !EMAIL.test(f.reportTo.trim())) p.reportTo = 'invalidEmail';
    if (f.interval !== 'manual') {
      need('startDate', f.startDate);
      need('startTime', f.startTime);
    }
  }
  if (step === 1 && !f.data.coreData && !f.data.cdrAndVoicemails && !f.data.announcements) p.data = 'atLeastOne';
  if (step === 2) {
    const d = (k: string) => `destinations[0].${k}`;
    const v = f.fields;
    switch (f.type) {
      case null:
        p['destinations[0].type'] = 'chooseDestination';
        break;
      case 'smb':
        for (const k of ['username', 'server', 'share', 'security']) if (!v[k]?.trim()) p[d(k)] = 'required';
        if (!editing && !v.password) p[d('password')] = 'required';
        break;
      case 'sftp':
        for (const k of ['username', 'host']) if (!v[k]?.trim()) p[d(k)] = 'required';
        if (!editing && !v.password) p[d('password')] = 'required';
        if (!p[d('host')] && !f.confirmedFingerprint) p[d('hostKeyFingerprint')] = 'fingerprintRequired';
        break;
      case 'dropbox':
        if (!editing && !v.authorizationCode?.trim()) p[d('authorizationCode')] = 'required';
        break;
      case 's3':
        for (const k of ['endpoint', 'region', 'bucket', 'accessKeyId']) if (!v[k]?.trim()) p[d(k)] = 'required';
        if (!editing && !v.secretAccessKey) p[d('secretAccessKey')] = 'required';
        break;
      case 'email':
        if (!v.to?.trim()) p[d('to')] = 'required';
        else if (!EMAIL.test(v.to.trim())) p[d('to')] = 'invalidEmail';
        break;
      default:
        break;
    }
    const enc = encryptionProblem(f.encryption, editing);
    if (enc) p[enc.field] = enc.problem;
  }
  return p;
}

/** The destination as the api takes it: only filled fields, port as a number, secrets only when typed. */
export function toDestination(f: WizardForm): DestinationRequest {
  const out: Record<string, unknown> = { type: f.type };
  for (const [k, raw] of Object.entries(f.fields)) {
    const value = SECRET_FIELDS.includes(k) ? raw : raw.trim();
    if (!value) continue;
    out[k] = NUMBER_FIELDS.includes(k) ? Number(value) : BOOLEAN_FIELDS.includes(k) ? value === 'true' : value;
  }
  if (f.type === 'sftp' && f.confirmedFingerprint) out.hostKeyFingerprint = f.confirmedFingerprint;
  return out as DestinationRequest;
}

export function toRequest(f: WizardForm): CreateBackupConfiguration {
  return {
    name: f.name.trim(),
    reportTo: f.reportTo.trim(),
    interval: f.interval,
    ...(f.interval !== 'manual' ? { startAt: `${f.startDate}T${f.startTime}:00` } : {}),
    timezone: f.timezone,
    data: f.data,
    destinations: [toDestination(f)],
    encryption: toEncryption(f.encryption),
    action: f.action,
  };
}

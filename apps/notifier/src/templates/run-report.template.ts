import type { DeliveryCode, DeliveryStatus, DestinationType, ConfigurationKind, FinalRunStatus, Language, RunTrigger } from '@pbx/contracts';
import { deliveryCodeText } from './delivery-codes';
import { render, type Block, type ListItem, type RenderedMail } from './document';
import { formatBytes, formatCount, formatTime, type Lang } from './format';

/** A cancelled run is reported to nobody (an operator stopped it; the notifier only logs it). */
export type RunOutcome = Exclude<FinalRunStatus, 'cancelled'>;
export type FailedStep = 'packing' | 'delivery' | 'deletion';

export interface DeliveryLine {
  type: DestinationType;
  /** e.g. "[SFTP]10.0.0.5:/backups" (never settings or secrets beyond this label). */
  target: string;
  status: DeliveryStatus;
  code: DeliveryCode | null;
  error: string | null;
  location: string | null;
}

/** Everything a run report shows; built by the report service from the run's rows. */
export interface RunReportModel {
  kind: ConfigurationKind;
  outcome: RunOutcome;
  configurationName: string;
  runId: string;
  trigger: RunTrigger;
  catchUp: boolean;
  scheduledFor: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  failedStep: FailedStep | null;
  error: string | null;
  deliveries: readonly DeliveryLine[];
  /** How often the PBX's maintenance lock deferred the run. */
  deferrals: number;
  artifact: { fileName: string; size: number } | null;
  counts: Readonly<Record<string, number>> | null;
  nextRunAt: Date | null;
  timezone: string;
  link: string;
}

/** One text in every language, side by side: a report is built once and picks its language's wording. */
type Localized = Readonly<Record<Language, string>>;

const PRODUCT: Record<ConfigurationKind, Localized> = {
  backup: { en: 'PBX backup', de: 'TK-Anlagen-Sicherung' },
  archive: { en: 'PBX archiving', de: 'TK-Anlagen-Archivierung' },
};

const OUTCOME: Record<RunOutcome, Localized> = {
  failed: { en: 'FAILED', de: 'FEHLGESCHLAGEN' },
  partially_failed: { en: 'PARTIALLY FAILED', de: 'TEILWEISE FEHLGESCHLAGEN' },
  succeeded: { en: 'succeeded', de: 'erfolgreich' },
};

const PARTIALLY_STORED: Localized = {
  en: 'A backup run failed for some destinations. The backup was stored at the others.',
  de: 'Eine Sicherung ist bei einigen Zielen fehlgeschlagen. Bei den übrigen Zielen wurde sie gespeichert.',
};

const INTRO: Record<RunOutcome, Record<ConfigurationKind, Localized>> = {
  failed: {
    backup: { en: 'A backup run failed. No usable backup was stored by this run.', de: 'Eine Sicherung ist fehlgeschlagen. Bei diesem Lauf wurde keine verwendbare Sicherung gespeichert.' },
    archive: { en: 'An archiving run failed.', de: 'Eine Archivierung ist fehlgeschlagen.' },
  },
  partially_failed: { backup: PARTIALLY_STORED, archive: PARTIALLY_STORED },
  succeeded: {
    backup: { en: 'A backup run finished successfully.', de: 'Eine Sicherung wurde erfolgreich abgeschlossen.' },
    archive: { en: 'An archiving run finished successfully.', de: 'Eine Archivierung wurde erfolgreich abgeschlossen.' },
  },
};

const TRIGGERS: Record<RunTrigger, Localized> = {
  schedule: { en: 'scheduled', de: 'geplant' },
  manual: { en: 'started manually', de: 'manuell gestartet' },
  runOnly: { en: 'one-off run (run once)', de: 'einmalige Ausführung' },
};

const STEPS: Record<FailedStep, Localized> = {
  packing: { en: 'packing (collecting the data into the backup file)', de: 'Packen (Zusammenstellen der Sicherungsdatei)' },
  delivery: { en: 'delivery to the destinations', de: 'Übertragung an die Ziele' },
  deletion: { en: 'deleting the archived data from the PBX', de: 'Löschen der archivierten Daten auf der TK-Anlage' },
};

const STATUSES: Record<DeliveryStatus, Localized> = {
  pending: { en: 'not started', de: 'nicht begonnen' },
  waiting: { en: 'waiting for its upload window', de: 'wartet auf das Upload-Zeitfenster' },
  running: { en: 'did not finish', de: 'nicht abgeschlossen' },
  succeeded: { en: 'stored', de: 'gespeichert' },
  failed: { en: 'failed', de: 'fehlgeschlagen' },
  cancelled: { en: 'cancelled', de: 'abgebrochen' },
};

/** Labels of an archive run's counts; a count this version does not know is shown by its key. */
const COUNT_LABELS: Partial<Record<string, Localized>> = {
  cdr: { en: 'Call records (CDR)', de: 'Verbindungsdaten (CDR)' },
  voicemails: { en: 'Voicemails', de: 'Voicemails' },
  pbxBytesBefore: { en: 'PBX data before', de: 'Daten auf der TK-Anlage vorher' },
  pbxBytesAfter: { en: 'PBX data after', de: 'Daten auf der TK-Anlage nachher' },
};

const WHAT_TO_DO: Localized = { en: 'What to do', de: 'Was tun' };

/** How a report names each destination kind (the same in every language). */
export const DESTINATION_LABELS = {
  local: 'LOCAL',
  smb: 'SMB',
  sftp: 'SFTP',
  dropbox: 'DROPBOX',
  usb: 'USB',
  email: 'EMAIL',
  s3: 'S3',
} as const satisfies Record<DestinationType, string>;

/** "[SFTP]10.0.0.5:/backups"; a target the dispatcher left empty still names the type. */
export function deliveryLabel(d: Pick<DeliveryLine, 'type' | 'target'>): string {
  // A kind this version does not know (an old row) is still named.
  const prefix = `[${(DESTINATION_LABELS as Record<string, string>)[d.type] ?? d.type.toUpperCase()}]`;
  if (!d.target) return prefix;
  return d.target.startsWith('[') ? d.target : `${prefix}${d.target}`;
}

const BYTE_COUNTS = new Set(['pbxBytesBefore', 'pbxBytesAfter']);

export function renderRunReport(m: RunReportModel, lang: Lang): RenderedMail {
  const t = (text: Localized) => text[lang];
  const time = (at: Date | null) => (at ? formatTime(at, m.timezone, lang) : '—');
  const subject = `[${t(PRODUCT[m.kind])}] ${t(OUTCOME[m.outcome])}: "${m.configurationName}" (${m.runId.slice(0, 8)})`;
  const failedAt = m.outcome !== 'succeeded' ? m.failedStep : null;

  const catchUp = t({ en: 'catch-up for a missed time slot', de: 'Nachholung eines verpassten Termins' });
  const trigger = [t(TRIGGERS[m.trigger]), m.catchUp ? catchUp : null].filter(Boolean).join(', ');
  const deferred = t({ en: `deferred ${m.deferrals} time(s) because the PBX was in maintenance`, de: `${m.deferrals}-mal verschoben, weil die TK-Anlage in Wartung war` });
  const facts: [string, string][] = [
    [t({ en: 'Configuration', de: 'Konfiguration' }), m.configurationName],
    [t({ en: 'Run id', de: 'Lauf-ID' }), m.runId],
    [t({ en: 'Trigger', de: 'Auslöser' }), trigger],
    [t({ en: 'Due at', de: 'Fällig um' }), m.scheduledFor ? time(m.scheduledFor) : t({ en: 'not scheduled (started on demand)', de: 'nicht geplant (auf Anforderung gestartet)' })],
    [t({ en: 'Started', de: 'Gestartet' }), m.deferrals > 0 ? `${time(m.startedAt)} (${deferred})` : time(m.startedAt)],
    [t({ en: 'Finished', de: 'Beendet' }), time(m.finishedAt)],
  ];
  if (failedAt) facts.push([t({ en: 'Failed step', de: 'Fehlgeschlagener Schritt' }), t(STEPS[failedAt])]);
  if (m.outcome !== 'succeeded' && m.error) facts.push([t({ en: 'Error', de: 'Fehler' }), m.error]);
  if (m.artifact) facts.push([t({ en: 'Backup file', de: 'Sicherungsdatei' }), `${m.artifact.fileName} (${formatBytes(m.artifact.size, lang)})`]);

  const blocks: Block[] = [
    { type: 'heading', text: subject },
    { type: 'paragraph', text: t(INTRO[m.outcome][m.kind]) },
    { type: 'facts', rows: facts },
  ];

  if (failedAt === 'packing') {
    const hint = t({
      en: 'Check that the PBX database and data directory are reachable and that the backup server has enough free disk space, then start the backup manually to verify.',
      de: 'Prüfen Sie, ob Datenbank und Datenverzeichnis der TK-Anlage erreichbar sind und der Sicherungsserver genug freien Speicherplatz hat, und starten Sie die Sicherung dann manuell zur Kontrolle.',
    });
    blocks.push({ type: 'paragraph', text: `${t(WHAT_TO_DO)}: ${hint}` });
  }

  if (m.deliveries.length) {
    blocks.push({ type: 'heading', text: t({ en: 'Destinations', de: 'Ziele' }) });
    blocks.push({ type: 'list', items: m.deliveries.map((d) => deliveryItem(d, lang)) });
  } else if (failedAt === 'packing') {
    blocks.push({ type: 'paragraph', text: t({ en: 'No destination was reached because the backup could not be created.', de: 'Kein Ziel wurde erreicht, weil die Sicherung nicht erstellt werden konnte.' }) });
  }

  if (m.kind === 'archive' && m.counts && Object.keys(m.counts).length) {
    const rows = Object.entries(m.counts).map(([key, n]) => {
      const label = COUNT_LABELS[key];
      return [label ? t(label) : key, BYTE_COUNTS.has(key) ? formatBytes(n, lang) : formatCount(n, lang)] as const;
    });
    blocks.push({ type: 'heading', text: t({ en: 'Archived', de: 'Archiviert' }) }, { type: 'facts', rows });
  }

  const nextRun = m.nextRunAt ? time(m.nextRunAt) : t({ en: 'none (no schedule)', de: 'keiner (kein Zeitplan)' });
  blocks.push(
    { type: 'facts', rows: [[t({ en: 'Next scheduled run', de: 'Nächster geplanter Lauf' }), nextRun]] },
    { type: 'link', label: t({ en: 'Details of this run (API)', de: 'Details zu diesem Lauf (API)' }), href: m.link },
    { type: 'paragraph', text: t({ en: 'This message was sent automatically by pbx-backup.', de: 'Diese Nachricht wurde automatisch von pbx-backup versandt.' }) },
  );
  return render(subject, blocks, lang);
}

function deliveryItem(d: DeliveryLine, lang: Lang): ListItem {
  const t = (text: Localized) => text[lang];
  const lines: string[] = [];
  const failed = d.status === 'failed' || (d.code !== null && d.code !== 'successful');
  if (d.code) {
    const text = deliveryCodeText(d.code, lang);
    lines.push(`${t({ en: 'Code', de: 'Code' })} ${d.code}: ${text.sentence}`);
    if (failed) lines.push(`${t(WHAT_TO_DO)}: ${text.hint}`);
  }
  if (failed && d.error) lines.push(`${t({ en: 'Detail', de: 'Detail' })}: ${d.error}`);
  if (!failed && d.location) lines.push(`${t({ en: 'Stored as', de: 'Gespeichert als' })}: ${d.location}`);
  return { title: `${deliveryLabel(d)} — ${t(STATUSES[d.status])}`, lines, alert: failed };
}

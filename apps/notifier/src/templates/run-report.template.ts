import type { DeliveryCode, DeliveryStatus, DestinationType, FinalRunStatus, Language, RunKind, RunTrigger } from '@pbx/contracts';
import { deliveryCodeText } from './delivery-codes';
import { render, type Block, type ListItem, type RenderedMail } from './document';
import { formatBytes, formatCount, formatTime, type Lang } from './format';

export type RunOutcome = FinalRunStatus;
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
  kind: RunKind;
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

/** The texts each language must have for every outcome, trigger and delivery status. */
type ReportTexts = Record<string, unknown> & {
  outcome: Record<RunOutcome, string>;
  intro: Record<RunOutcome, (kind: RunKind) => string>;
  triggers: Record<RunTrigger, string>;
  statuses: Record<DeliveryStatus, string>;
};

const STRINGS = {
  en: {
    product: { backup: 'PBX backup', archive: 'PBX archiving' },
    outcome: { failed: 'FAILED', partially_failed: 'PARTIALLY FAILED', succeeded: 'succeeded' },
    intro: {
      failed: (k: RunKind) => (k === 'backup' ? 'A backup run failed. No usable backup was stored by this run.' : 'An archiving run failed.'),
      partially_failed: (_k: RunKind) => 'A backup run failed for some destinations. The backup was stored at the others.',
      succeeded: (k: RunKind) => (k === 'backup' ? 'A backup run finished successfully.' : 'An archiving run finished successfully.'),
    },
    configuration: 'Configuration',
    run: 'Run id',
    trigger: 'Trigger',
    triggers: { schedule: 'scheduled', manual: 'started manually', runOnly: 'one-off run (run once)' },
    catchUp: 'catch-up for a missed time slot',
    due: 'Due at',
    notScheduled: 'not scheduled (started on demand)',
    started: 'Started',
    finished: 'Finished',
    notYet: '—',
    deferred: (n: number) => `deferred ${n} time(s) because the PBX was in maintenance`,
    failedStep: 'Failed step',
    steps: { packing: 'packing (collecting the data into the backup file)', delivery: 'delivery to the destinations', deletion: 'deleting the archived data from the PBX' },
    error: 'Error',
    artifact: 'Backup file',
    destinations: 'Destinations',
    statuses: { pending: 'not started', running: 'did not finish', succeeded: 'stored', failed: 'failed' },
    code: 'Code',
    detail: 'Detail',
    location: 'Stored as',
    whatToDo: 'What to do',
    noDestinations: 'No destination was reached because the backup could not be created.',
    archived: 'Archived',
    countLabels: { cdr: 'Call records (CDR)', voicemails: 'Voicemails', pbxBytesBefore: 'PBX data before', pbxBytesAfter: 'PBX data after' } as Record<string, string>,
    nextRun: 'Next scheduled run',
    noNextRun: 'none (no schedule)',
    link: 'Details of this run (API)',
    packingHint: 'Check that the PBX database and data directory are reachable and that the backup server has enough free disk space, then start the backup manually to verify.',
    footer: 'This message was sent automatically by pbx-backup.',
  },
  de: {
    product: { backup: 'TK-Anlagen-Sicherung', archive: 'TK-Anlagen-Archivierung' },
    outcome: { failed: 'FEHLGESCHLAGEN', partially_failed: 'TEILWEISE FEHLGESCHLAGEN', succeeded: 'erfolgreich' },
    intro: {
      failed: (k: RunKind) => (k === 'backup' ? 'Eine Sicherung ist fehlgeschlagen. Bei diesem Lauf wurde keine verwendbare Sicherung gespeichert.' : 'Eine Archivierung ist fehlgeschlagen.'),
      partially_failed: (_k: RunKind) => 'Eine Sicherung ist bei einigen Zielen fehlgeschlagen. Bei den übrigen Zielen wurde sie gespeichert.',
      succeeded: (k: RunKind) => (k === 'backup' ? 'Eine Sicherung wurde erfolgreich abgeschlossen.' : 'Eine Archivierung wurde erfolgreich abgeschlossen.'),
    },
    configuration: 'Konfiguration',
    run: 'Lauf-ID',
    trigger: 'Auslöser',
    triggers: { schedule: 'geplant', manual: 'manuell gestartet', runOnly: 'einmalige Ausführung' },
    catchUp: 'Nachholung eines verpassten Termins',
    due: 'Fällig um',
    notScheduled: 'nicht geplant (auf Anforderung gestartet)',
    started: 'Gestartet',
    finished: 'Beendet',
    notYet: '—',
    deferred: (n: number) => `${n}-mal verschoben, weil die TK-Anlage in Wartung war`,
    failedStep: 'Fehlgeschlagener Schritt',
    steps: { packing: 'Packen (Zusammenstellen der Sicherungsdatei)', delivery: 'Übertragung an die Ziele', deletion: 'Löschen der archivierten Daten auf der TK-Anlage' },
    error: 'Fehler',
    artifact: 'Sicherungsdatei',
    destinations: 'Ziele',
    statuses: { pending: 'nicht begonnen', running: 'nicht abgeschlossen', succeeded: 'gespeichert', failed: 'fehlgeschlagen' },
    code: 'Code',
    detail: 'Detail',
    location: 'Gespeichert als',
    whatToDo: 'Was tun',
    noDestinations: 'Kein Ziel wurde erreicht, weil die Sicherung nicht erstellt werden konnte.',
    archived: 'Archiviert',
    countLabels: { cdr: 'Verbindungsdaten (CDR)', voicemails: 'Voicemails', pbxBytesBefore: 'Daten auf der TK-Anlage vorher', pbxBytesAfter: 'Daten auf der TK-Anlage nachher' } as Record<string, string>,
    nextRun: 'Nächster geplanter Lauf',
    noNextRun: 'keiner (kein Zeitplan)',
    link: 'Details zu diesem Lauf (API)',
    packingHint: 'Prüfen Sie, ob Datenbank und Datenverzeichnis der TK-Anlage erreichbar sind und der Sicherungsserver genug freien Speicherplatz hat, und starten Sie die Sicherung dann manuell zur Kontrolle.',
    footer: 'Diese Nachricht wurde automatisch von pbx-backup versandt.',
  },
} as const satisfies Record<Language, ReportTexts>;

/** How a report names each destination kind (the same in every language). */
export const DESTINATION_LABELS = {
  local: 'LOCAL',
  smb: 'SMB',
  sftp: 'SFTP',
  dropbox: 'DROPBOX',
  usb: 'USB',
  email: 'EMAIL',
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
  const s = STRINGS[lang];
  const time = (at: Date | null) => (at ? formatTime(at, m.timezone, lang) : s.notYet);
  const subject = `[${s.product[m.kind]}] ${s.outcome[m.outcome]}: "${m.configurationName}" (${m.runId.slice(0, 8)})`;

  const trigger = [s.triggers[m.trigger], m.catchUp ? s.catchUp : null].filter(Boolean).join(', ');
  const facts: [string, string][] = [
    [s.configuration, m.configurationName],
    [s.run, m.runId],
    [s.trigger, trigger],
    [s.due, m.scheduledFor ? time(m.scheduledFor) : s.notScheduled],
    [s.started, m.deferrals > 0 ? `${time(m.startedAt)} (${s.deferred(m.deferrals)})` : time(m.startedAt)],
    [s.finished, time(m.finishedAt)],
  ];
  if (m.outcome !== 'succeeded' && m.failedStep) facts.push([s.failedStep, s.steps[m.failedStep]]);
  if (m.outcome !== 'succeeded' && m.error) facts.push([s.error, m.error]);
  if (m.artifact) facts.push([s.artifact, `${m.artifact.fileName} (${formatBytes(m.artifact.size, lang)})`]);

  const blocks: Block[] = [
    { type: 'heading', text: subject },
    { type: 'paragraph', text: s.intro[m.outcome](m.kind) },
    { type: 'facts', rows: facts },
  ];

  if (m.outcome !== 'succeeded' && m.failedStep === 'packing') {
    blocks.push({ type: 'paragraph', text: `${s.whatToDo}: ${s.packingHint}` });
  }

  if (m.deliveries.length) {
    blocks.push({ type: 'heading', text: s.destinations });
    blocks.push({ type: 'list', items: m.deliveries.map((d) => deliveryItem(d, lang)) });
  } else if (m.outcome !== 'succeeded' && m.failedStep === 'packing') {
    blocks.push({ type: 'paragraph', text: s.noDestinations });
  }

  if (m.kind === 'archive' && m.counts && Object.keys(m.counts).length) {
    const rows = Object.entries(m.counts).map(
      ([key, n]) => [s.countLabels[key] ?? key, BYTE_COUNTS.has(key) ? formatBytes(n, lang) : formatCount(n, lang)] as const,
    );
    blocks.push({ type: 'heading', text: s.archived }, { type: 'facts', rows });
  }

  blocks.push(
    { type: 'facts', rows: [[s.nextRun, m.nextRunAt ? time(m.nextRunAt) : s.noNextRun]] },
    { type: 'link', label: s.link, href: m.link },
    { type: 'paragraph', text: s.footer },
  );
  return render(subject, blocks, lang);
}

function deliveryItem(d: DeliveryLine, lang: Lang): ListItem {
  const s = STRINGS[lang];
  const lines: string[] = [];
  const failed = d.status === 'failed' || (d.code !== null && d.code !== 'successful');
  if (d.code) {
    const text = deliveryCodeText(d.code, lang);
    lines.push(`${s.code} ${d.code}: ${text.sentence}`);
    if (failed) lines.push(`${s.whatToDo}: ${text.hint}`);
  }
  if (failed && d.error) lines.push(`${s.detail}: ${d.error}`);
  if (!failed && d.location) lines.push(`${s.location}: ${d.location}`);
  return { title: `${deliveryLabel(d)} — ${s.statuses[d.status]}`, lines, alert: failed };
}

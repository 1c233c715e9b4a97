import type { DestinationType, Language, VerificationOutcome, VerificationResult } from '@pbx/contracts';
import { DELIVERY_CODE_TEXTS } from './delivery-codes';
import { render, type Block, type ListItem, type RenderedMail } from './document';
import { formatTime, type Lang } from './format';
import { deliveryLabel } from './run-report.template';

export interface VerificationAlertModel {
  configurationName: string;
  runId: string;
  fileName: string;
  /** When the run was made (its start), in the configuration's time zone. */
  runAt: Date | null;
  timezone: string;
  checks: { destinationType: DestinationType; target: string; result: VerificationResult }[];
  link: string;
}

const STRINGS = {
  en: {
    product: 'PBX backup',
    title: 'a stored backup copy is damaged or missing',
    intro: (name: string) => `Stored copies of a backup of the configuration "${name}" were read back from their destinations; at least one no longer matches the backup that was made.`,
    configuration: 'Configuration',
    file: 'File',
    made: 'Backup made',
    run: 'Run',
    outcomes: {
      verified: 'intact (its sha256 matches)',
      mismatch: 'CHANGED: its content no longer matches the backup (sha256 differs)',
      missing: 'MISSING: the file is no longer at the destination',
      notVerifiable: 'cannot be read back (e-mail)',
    } satisfies Record<VerificationOutcome, string>,
    unreadable: 'could not be read back:',
    hint: 'Do not rely on a changed or missing copy for a restore. Run a new backup now, and check who or what can write to the destination (storage faults, other software, ransomware).',
    link: 'Run (API)',
  },
  de: {
    product: 'TK-Anlagen-Sicherung',
    title: 'eine gespeicherte Sicherungskopie ist beschädigt oder fehlt',
    intro: (name: string) => `Gespeicherte Kopien einer Sicherung der Konfiguration „${name}“ wurden vom Ziel zurückgelesen; mindestens eine stimmt nicht mehr mit der erstellten Sicherung überein.`,
    configuration: 'Konfiguration',
    file: 'Datei',
    made: 'Sicherung erstellt',
    run: 'Lauf',
    outcomes: {
      verified: 'unverändert (SHA-256 stimmt)',
      mismatch: 'VERÄNDERT: der Inhalt stimmt nicht mehr mit der Sicherung überein (SHA-256 weicht ab)',
      missing: 'FEHLT: die Datei ist nicht mehr am Ziel',
      notVerifiable: 'kann nicht zurückgelesen werden (E-Mail)',
    } satisfies Record<VerificationOutcome, string>,
    unreadable: 'konnte nicht zurückgelesen werden:',
    hint: 'Verlassen Sie sich bei einer Wiederherstellung nicht auf eine veränderte oder fehlende Kopie. Erstellen Sie jetzt eine neue Sicherung und prüfen Sie, wer oder was auf das Ziel schreiben kann (Speicherfehler, andere Software, Ransomware).',
    link: 'Lauf (API)',
  },
} as const satisfies Record<Language, unknown>;

function resultText(result: VerificationResult, lang: Lang): string {
  const s = STRINGS[lang];
  if (result in s.outcomes) return s.outcomes[result as VerificationOutcome];
  return `${s.unreadable} ${DELIVERY_CODE_TEXTS[lang][result as Exclude<VerificationResult, VerificationOutcome>].sentence}`;
}

export function renderVerificationAlert(m: VerificationAlertModel, lang: Lang): RenderedMail {
  const s = STRINGS[lang];
  const subject = `[${s.product}] "${m.configurationName}": ${s.title}`;
  const items: ListItem[] = m.checks.map((c) => ({
    title: deliveryLabel({ type: c.destinationType, target: c.target }),
    lines: [resultText(c.result, lang)],
    alert: c.result === 'mismatch' || c.result === 'missing',
  }));
  const blocks: Block[] = [
    { type: 'heading', text: subject },
    { type: 'paragraph', text: s.intro(m.configurationName) },
    {
      type: 'facts',
      rows: [
        [s.configuration, m.configurationName],
        [s.file, m.fileName],
        ...(m.runAt ? [[s.made, formatTime(m.runAt, m.timezone, lang)] as const] : []),
        [s.run, m.runId],
      ],
    },
    { type: 'list', items },
    { type: 'paragraph', text: s.hint },
    { type: 'link', label: s.link, href: m.link },
  ];
  return render(subject, blocks, lang);
}

import type { Language, RunKind, ScheduledInterval } from '@pbx/contracts';
import { render, type Block, type RenderedMail } from './document';
import { formatTime, type Lang } from './format';

export interface StaleAlertModel {
  kind: RunKind;
  configurationId: string;
  configurationName: string;
  interval: ScheduledInterval;
  /** null: never succeeded since `createdAt`. */
  lastSuccessAt: Date | null;
  createdAt: Date;
  /** The age after which the alarm fires (twice the interval plus the maintenance allowance). */
  thresholdMs: number;
  lastRun: { id: string; status: string; at: Date } | null;
  nextRunAt: Date | null;
  timezone: string;
  link: string;
}

const STRINGS = {
  en: {
    // safety: only so every run kind has a word; a stale alert is about a configuration (backup or archive).
    product: { backup: 'PBX backup', archive: 'PBX archiving', safety: 'PBX safety backup' },
    title: 'no successful run for too long',
    intro: (kind: RunKind, name: string, hours: number) =>
      `The ${kind === 'backup' ? 'backup' : 'archiving'} configuration "${name}" has not completed successfully for more than ${hours} hours, although it is scheduled to run regularly.`,
    configuration: 'Configuration',
    interval: 'Interval',
    intervals: { hourly: 'hourly', daily: 'daily', weekly: 'weekly', monthly: 'monthly' } satisfies Record<ScheduledInterval, string>,
    lastSuccess: 'Last successful run',
    never: (created: string) => `never (configuration created ${created})`,
    lastRun: 'Latest run',
    noRun: 'none',
    nextRun: 'Next scheduled run',
    noNextRun: 'none',
    hint: 'Look at the reports of the latest runs. If there are none, check that the scheduler, packer and dispatcher services are running and that the PBX is not permanently in maintenance (which defers backups).',
    rearm: 'You get this alert once; it is sent again only after a successful run followed by another period without success.',
    link: 'Configuration (API)',
  },
  de: {
    product: { backup: 'TK-Anlagen-Sicherung', archive: 'TK-Anlagen-Archivierung', safety: 'TK-Anlagen-Sicherheitssicherung' },
    title: 'seit zu langer Zeit kein erfolgreicher Lauf',
    intro: (kind: RunKind, name: string, hours: number) =>
      `Die ${kind === 'backup' ? 'Sicherungs' : 'Archivierungs'}konfiguration „${name}“ wurde seit mehr als ${hours} Stunden nicht erfolgreich ausgeführt, obwohl sie regelmäßig laufen soll.`,
    configuration: 'Konfiguration',
    interval: 'Intervall',
    intervals: { hourly: 'stündlich', daily: 'täglich', weekly: 'wöchentlich', monthly: 'monatlich' } satisfies Record<ScheduledInterval, string>,
    lastSuccess: 'Letzter erfolgreicher Lauf',
    never: (created: string) => `noch nie (Konfiguration angelegt ${created})`,
    lastRun: 'Letzter Lauf',
    noRun: 'keiner',
    nextRun: 'Nächster geplanter Lauf',
    noNextRun: 'keiner',
    hint: 'Sehen Sie sich die Berichte der letzten Läufe an. Gibt es keine, prüfen Sie, ob die Dienste Scheduler, Packer und Dispatcher laufen und die TK-Anlage nicht dauerhaft in Wartung ist (das verschiebt Sicherungen).',
    rearm: 'Diese Warnung kommt einmal; erneut erst, wenn nach einem erfolgreichen Lauf wieder zu lange keiner gelingt.',
    link: 'Konfiguration (API)',
  },
} as const satisfies Record<Language, unknown>;

export function renderStaleAlert(m: StaleAlertModel, lang: Lang): RenderedMail {
  const s = STRINGS[lang];
  const time = (at: Date) => formatTime(at, m.timezone, lang);
  const subject = `[${s.product[m.kind]}] "${m.configurationName}": ${s.title}`;
  const hours = Math.round(m.thresholdMs / 3_600_000);
  const blocks: Block[] = [
    { type: 'heading', text: subject },
    { type: 'paragraph', text: s.intro(m.kind, m.configurationName, hours) },
    {
      type: 'facts',
      rows: [
        [s.configuration, `${m.configurationName} (${m.configurationId})`],
        [s.interval, s.intervals[m.interval]],
        [s.lastSuccess, m.lastSuccessAt ? time(m.lastSuccessAt) : s.never(time(m.createdAt))],
        [s.lastRun, m.lastRun ? `${m.lastRun.status}, ${time(m.lastRun.at)} (${m.lastRun.id})` : s.noRun],
        [s.nextRun, m.nextRunAt ? time(m.nextRunAt) : s.noNextRun],
      ],
    },
    { type: 'paragraph', text: s.hint },
    { type: 'paragraph', text: s.rearm },
    { type: 'link', label: s.link, href: m.link },
  ];
  return render(subject, blocks, lang);
}

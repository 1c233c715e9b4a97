import type { Language, RestoreStatus, RestoreUnit } from '@pbx/contracts';
import { render, type Block, type RenderedMail } from './document';
import { formatBytes, formatCount, formatTime, type Lang } from './format';

export interface RestoreReportModel {
  restoreId: string;
  status: Extract<RestoreStatus, 'succeeded' | 'failed' | 'rolled_back'>;
  preview: boolean;
  /** How the source is named: a run id, an upload, a destination's file. */
  source: string;
  mode: string;
  sections: { name: RestoreUnit; status: string; counts: { rowsInserted: number; rowsDeleted: number; filesWritten: number } }[];
  safetyBackup: { path: string; size: number } | null;
  error: string | null;
  finishedAt: Date | null;
  timezone: string;
  link: string;
}

type FinalStatus = RestoreReportModel['status'];

const STRINGS = {
  en: {
    product: 'PBX restore',
    outcome: { succeeded: 'succeeded', failed: 'FAILED', rolled_back: 'ROLLED BACK' } satisfies Record<FinalStatus, string>,
    previewTitle: 'preview',
    intro: {
      succeeded: 'The restore into the PBX has finished.',
      failed: 'The restore did not complete. Sections restored before the failure stay restored; the failing one was rolled back unless said otherwise.',
      rolled_back: 'The restore failed and the failing section was rolled back; the PBX holds its data as before that section.',
    } satisfies Record<FinalStatus, string>,
    previewIntro: 'A preview changes nothing; see the run of the restore for the differences it found.',
    sectionNames: { coreData: 'Core data', cdrAndVoicemails: 'Call records and voicemails', announcements: 'Announcements' } satisfies Record<RestoreUnit, string>,
    source: 'Archive',
    mode: 'Mode',
    finished: 'Finished',
    safety: 'Safety backup (restore it to undo)',
    error: 'Error',
    counts: (c: RestoreReportModel['sections'][number]['counts'], lang: Lang) =>
      `${formatCount(c.rowsInserted, lang)} rows written, ${formatCount(c.rowsDeleted, lang)} removed, ${formatCount(c.filesWritten, lang)} files`,
    link: 'Restore (API)',
  },
  de: {
    product: 'TK-Anlagen-Wiederherstellung',
    outcome: { succeeded: 'erfolgreich', failed: 'FEHLGESCHLAGEN', rolled_back: 'ZURÜCKGEROLLT' } satisfies Record<FinalStatus, string>,
    previewTitle: 'Vorschau',
    intro: {
      succeeded: 'Die Wiederherstellung in die TK-Anlage ist abgeschlossen.',
      failed: 'Die Wiederherstellung wurde nicht abgeschlossen. Vor dem Fehler wiederhergestellte Bereiche bleiben wiederhergestellt; der fehlerhafte wurde zurückgerollt, sofern nicht anders angegeben.',
      rolled_back: 'Die Wiederherstellung schlug fehl und der betroffene Bereich wurde zurückgerollt; die TK-Anlage enthält dessen Daten wie zuvor.',
    } satisfies Record<FinalStatus, string>,
    previewIntro: 'Eine Vorschau ändert nichts; die gefundenen Unterschiede stehen bei der Wiederherstellung.',
    sectionNames: { coreData: 'Stammdaten', cdrAndVoicemails: 'Verbindungsdaten und Voicemails', announcements: 'Ansagen' } satisfies Record<RestoreUnit, string>,
    source: 'Archiv',
    mode: 'Modus',
    finished: 'Beendet',
    safety: 'Sicherheitskopie (zum Rückgängigmachen wiederherstellen)',
    error: 'Fehler',
    counts: (c: RestoreReportModel['sections'][number]['counts'], lang: Lang) =>
      `${formatCount(c.rowsInserted, lang)} Zeilen geschrieben, ${formatCount(c.rowsDeleted, lang)} entfernt, ${formatCount(c.filesWritten, lang)} Dateien`,
    link: 'Wiederherstellung (API)',
  },
} as const satisfies Record<Language, unknown>;

export function renderRestoreReport(m: RestoreReportModel, lang: Lang): RenderedMail {
  const s = STRINGS[lang];
  const subject = `[${s.product}] ${m.preview ? `${s.previewTitle} ` : ''}${s.outcome[m.status]}`;
  const blocks: Block[] = [
    { type: 'heading', text: subject },
    { type: 'paragraph', text: m.preview && m.status === 'succeeded' ? s.previewIntro : s.intro[m.status] },
    {
      type: 'facts',
      rows: [
        [s.source, m.source],
        [s.mode, m.mode],
        ...(m.finishedAt ? [[s.finished, formatTime(m.finishedAt, m.timezone, lang)] as const] : []),
        ...(m.safetyBackup ? [[s.safety, `${m.safetyBackup.path} (${formatBytes(m.safetyBackup.size, lang)})`] as const] : []),
        ...(m.error ? [[s.error, m.error] as const] : []),
      ],
    },
    ...(m.sections.length
      ? [{ type: 'list' as const, items: m.sections.map((x) => ({ title: s.sectionNames[x.name] ?? x.name, lines: [`${x.status}: ${s.counts(x.counts, lang)}`], alert: x.status === 'failed' || x.status === 'rolled-back' })) }]
      : []),
    { type: 'link', label: s.link, href: m.link },
  ];
  return render(subject, blocks, lang);
}

import { RESTORE_UNITS } from '@pbx/contracts';
import { CORE_TABLES, PBX_SECTIONS, type AudioKind, type PbxSection, type PbxTable, type RestoreMode } from '@pbx/pbx-source';
import type { SarManifest, SarManifestEntry, SarSection } from '@pbx/sar';
import { RestoreRefusedError, type ArchiveSummary, type PlanOptions, type RestoreModes } from './restore.types';

interface SectionLayout {
  /** The archive sections (manifest `sections`) it is made of. */
  sarSections: SarSection[];
  /** Tables in load order (foreign keys) and the entry holding each. */
  tables: { table: PbxTable; entry: string }[];
  audio: AudioKind | null;
  /** Whether `merge` is offered: CDRs and voicemails moved off the PBX by archiving come back this way. */
  mergeable: boolean;
}

/** What each unit a restore changes is in the `.sar` (docs/sar-format.md, "Entry layout"); its archive sections are the vocabulary's RESTORE_UNITS. */
export const SECTION_LAYOUT: Record<PbxSection, SectionLayout> = {
  coreData: { sarSections: [...RESTORE_UNITS.coreData], tables: CORE_TABLES.map((t) => ({ table: t, entry: `core/${t}.csv` })), audio: null, mergeable: false },
  cdrAndVoicemails: {
    sarSections: [...RESTORE_UNITS.cdrAndVoicemails],
    tables: [
      { table: 'cdr', entry: 'cdr/cdr.csv' },
      { table: 'voicemails', entry: 'voicemail/voicemails.csv' },
    ],
    audio: 'voicemail',
    mergeable: true,
  },
  announcements: { sarSections: [...RESTORE_UNITS.announcements], tables: [], audio: 'announcements', mergeable: false },
};

export interface PlannedSection {
  section: PbxSection;
  mode: RestoreMode;
  tables: { table: PbxTable; entry: SarManifestEntry }[];
  audio: { folder: AudioKind; entries: SarManifestEntry[] } | null;
  /** Uncompressed bytes of its entries. */
  bytes: number;
}

export interface RestorePlan {
  archive: ArchiveSummary;
  sections: PlannedSection[];
  bytes: number;
}

export function summarize(manifest: SarManifest): ArchiveSummary {
  const { pbxId, kind, createdAt, configurationName, sections, counts } = manifest;
  return { pbxId, kind, createdAt, configurationName, sections, counts };
}

/**
 * Decides what a restore of a verified archive does, or refuses it: sections must be in the
 * archive, `merge` only where offered, `replace` of CDRs and voicemails never from an
 * archiving run's file (it holds only the archived items: the rest would be deleted), and an
 * archive of another PBX only with `allowOtherPbx`.
 */
export function planRestore(manifest: SarManifest, options: PlanOptions, ownPbxId: string): RestorePlan {
  if (manifest.pbxId !== ownPbxId && !options.allowOtherPbx) {
    throw new RestoreRefusedError('otherPbx', `the archive is of PBX ${JSON.stringify(manifest.pbxId)}, not ${JSON.stringify(ownPbxId)}; pass allowOtherPbx to restore it here`);
  }
  const inArchive = PBX_SECTIONS.filter((s) => SECTION_LAYOUT[s].sarSections.every((x) => manifest.sections.includes(x)));
  // A plain `merge` without sections means the sections it applies to.
  const wanted = options.sections ?? (options.mode === 'merge' ? inArchive.filter((s) => SECTION_LAYOUT[s].mergeable) : inArchive);
  if (wanted.length === 0) throw new RestoreRefusedError('sectionNotInArchive', 'nothing to restore: no section chosen or none in the archive');
  const entries = new Map(manifest.entries.map((e) => [e.path, e]));
  const sections: PlannedSection[] = [];
  for (const section of PBX_SECTIONS) {
    if (!wanted.includes(section)) continue;
    if (!inArchive.includes(section)) {
      throw new RestoreRefusedError('sectionNotInArchive', `the archive does not hold ${section} (it holds: ${manifest.sections.join(', ') || 'nothing'})`);
    }
    const layout = SECTION_LAYOUT[section];
    const mode = modeOf(options.mode, section);
    if (mode === 'merge' && !layout.mergeable) {
      throw new RestoreRefusedError('modeNotAllowed', `${section} can only be replaced; merge is for cdrAndVoicemails`);
    }
    if (mode === 'replace' && manifest.kind === 'archive' && layout.mergeable) {
      throw new RestoreRefusedError('modeNotAllowed', `an archiving run's file holds only the archived ${section}: replace would delete all others; use merge`);
    }
    const tables = layout.tables.map(({ table, entry }) => {
      const found = entries.get(entry);
      if (!found) throw new RestoreRefusedError('invalidArchive', `${entry} is missing although the archive holds ${section}`, entry);
      return { table, entry: found };
    });
    const tableEntries = new Set(layout.tables.map((t) => t.entry));
    const audio = layout.audio
      ? { folder: layout.audio, entries: manifest.entries.filter((e) => e.path.startsWith(`${layout.audio}/`) && !tableEntries.has(e.path)) }
      : null;
    const bytes = tables.reduce((n, t) => n + t.entry.size, 0) + (audio?.entries.reduce((n, e) => n + e.size, 0) ?? 0);
    sections.push({ section, mode, tables, audio, bytes });
  }
  return { archive: summarize(manifest), sections, bytes: sections.reduce((n, s) => n + s.bytes, 0) };
}

function modeOf(modes: RestoreModes, section: PbxSection): RestoreMode {
  const mode = typeof modes === 'string' ? modes : modes[section];
  if (mode !== 'replace' && mode !== 'merge') throw new RestoreRefusedError('modeNotAllowed', `no restore mode (replace or merge) given for ${section}`);
  return mode;
}

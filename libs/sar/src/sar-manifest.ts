import { z } from 'zod';

export const SAR_FORMAT = 'sar';
export const SAR_FORMAT_VERSION = 1;
export const SAR_MANIFEST_PATH = 'manifest.json';

export const SAR_SECTIONS = ['core', 'cdr', 'voicemail', 'announcements'] as const;
export type SarSection = (typeof SAR_SECTIONS)[number];
export type SarKind = 'backup' | 'archive';

/** What the user ticked in a backup configuration. */
export interface SectionSelection {
  coreData: boolean;
  cdrAndVoicemails: boolean;
  announcements: boolean;
}

export function sectionsOf(selection: SectionSelection): SarSection[] {
  const sections: SarSection[] = [];
  if (selection.coreData) sections.push('core');
  if (selection.cdrAndVoicemails) sections.push('cdr', 'voicemail');
  if (selection.announcements) sections.push('announcements');
  return sections;
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const sarManifestEntrySchema = z.object({
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
});

/**
 * manifest.json. Readers of version 1 ignore unknown fields, so adding an optional
 * field is not a version bump; changing or removing one is.
 */
export const sarManifestSchema = z.object({
  format: z.literal(SAR_FORMAT),
  formatVersion: z.literal(SAR_FORMAT_VERSION),
  kind: z.enum(['backup', 'archive']),
  createdAt: z.iso.datetime({ offset: true }),
  configurationName: z.string(),
  pbxId: z.string(),
  sections: z.array(z.enum(SAR_SECTIONS)),
  archive: z
    .object({
      selectionId: z.string(),
      cdrOlderThan: z.iso.datetime({ offset: true }).nullable(),
      voicemailsOlderThan: z.iso.datetime({ offset: true }).nullable(),
    })
    .optional(),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  entries: z.array(sarManifestEntrySchema),
});

export type SarManifest = z.infer<typeof sarManifestSchema>;
export type SarManifestEntry = z.infer<typeof sarManifestEntrySchema>;

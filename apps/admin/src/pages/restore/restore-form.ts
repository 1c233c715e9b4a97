import type { Schemas } from '../../api/client';

export type RestoreRequest = Schemas['RestoreRequest'];
export type Restore = Schemas['Restore'];
type RequestSection = NonNullable<RestoreRequest['sections']>[number];
export type RestoreMode = NonNullable<RestoreRequest['mode']>;
export type SourceKind = 'run' | 'copy' | 'upload';

export const SOURCE_KINDS: readonly SourceKind[] = ['run', 'copy', 'upload'];
/** The three sections the page offers, as a backup configuration names them (the api may take finer ones). */
export const SECTIONS = ['coreData', 'cdrAndVoicemails', 'announcements'] as const satisfies readonly RequestSection[];
export type RestoreSection = (typeof SECTIONS)[number];
export const MODES: readonly RestoreMode[] = ['replace', 'merge'];
export const FINAL_STATUSES: ReadonlyArray<Restore['status']> = ['succeeded', 'failed', 'rolled_back'];

/** The restore page's choices. The key (passphrase or identity) lives here only, never stored. */
export interface RestoreForm {
  source: SourceKind;
  runId: string | null;
  configurationId: string | null;
  destinationId: string | null;
  file: string | null;
  uploadId: string | null;
  /** The chosen archive is age-encrypted (.sar.age): a key is asked for. */
  encrypted: boolean;
  sections: RestoreSection[];
  mode: RestoreMode;
  allowOtherPbx: boolean;
  keyKind: 'passphrase' | 'identity';
  passphrase: string;
  identity: string;
}

export function initialForm(params: URLSearchParams): RestoreForm {
  const runId = params.get('runId');
  const destinationId = params.get('destinationId');
  const source: SourceKind = runId ? 'run' : destinationId ? 'copy' : params.get('source') === 'upload' ? 'upload' : 'run';
  const file = params.get('file');
  return {
    source,
    runId,
    configurationId: params.get('configurationId'),
    destinationId,
    file,
    uploadId: null,
    encrypted: Boolean(file?.endsWith('.age')),
    sections: [...SECTIONS],
    mode: 'replace',
    allowOtherPbx: false,
    keyKind: 'passphrase',
    passphrase: '',
    identity: '',
  };
}

/** An age identity from what was pasted: the bare key, or a whole age-keygen key file. */
export function identityOf(text: string): string | null {
  return /AGE-SECRET-KEY-1[0-9A-Z]+/.exec(text.trim().toUpperCase())?.[0] ?? null;
}

export type FormProblem = 'chooseSource' | 'chooseSection' | 'keyRequired' | 'identityInvalid';

/** What must be chosen before Preview: by field (source, sections, key). */
export function problemsOf(f: RestoreForm): Partial<Record<'source' | 'sections' | 'key', FormProblem>> {
  const p: Partial<Record<'source' | 'sections' | 'key', FormProblem>> = {};
  const chosen = f.source === 'run' ? f.runId : f.source === 'copy' ? f.destinationId && f.file : f.uploadId;
  if (!chosen) p.source = 'chooseSource';
  if (f.mode === 'replace' && f.sections.length === 0) p.sections = 'chooseSection';
  if (f.encrypted) {
    if (f.keyKind === 'passphrase' && !f.passphrase) p.key = 'keyRequired';
    if (f.keyKind === 'identity') p.key = !f.identity.trim() ? 'keyRequired' : identityOf(f.identity) ? undefined : 'identityInvalid';
    if (!p.key) delete p.key;
  }
  return p;
}

/**
 * POST /api/v1/restores. All three sections, or merge: no list, so the archive decides (everything
 * it holds; merge: what can merge, i.e. CDRs and voicemails). The key only for an encrypted archive.
 */
export function toRestoreRequest(f: RestoreForm, preview: boolean): RestoreRequest {
  const source: RestoreRequest['source'] =
    f.source === 'run' ? { runId: f.runId ?? '' } : f.source === 'copy' ? { destinationId: f.destinationId ?? '', file: f.file ?? '' } : { uploadId: f.uploadId ?? '' };
  const all = f.mode === 'merge' || SECTIONS.every((s) => f.sections.includes(s));
  const key = !f.encrypted ? {} : f.keyKind === 'passphrase' ? { passphrase: f.passphrase } : { identity: identityOf(f.identity) ?? '' };
  return {
    source,
    ...(all ? {} : { sections: SECTIONS.filter((s) => f.sections.includes(s)) }),
    mode: f.mode,
    preview,
    allowOtherPbx: f.allowOtherPbx,
    ...key,
  };
}

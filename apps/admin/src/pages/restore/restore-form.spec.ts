import { describe, expect, it } from '@jest/globals';
import { identityOf, initialForm, problemsOf, toRestoreRequest } from './restore-form';
import { restoreErrorOf } from './restore-error';

const RUN = '0f1e2d3c-4b5a-4968-8776-655443322110';
const DEST = '11111111-2222-4333-8444-555555555555';

describe('restore form', () => {
  it('is preselected by the run detail links', () => {
    expect(initialForm(new URLSearchParams({ runId: RUN }))).toMatchObject({ source: 'run', runId: RUN, encrypted: false });
    expect(initialForm(new URLSearchParams({ configurationId: 'c', destinationId: DEST, file: 'a_1.sar.age' }))).toMatchObject({ source: 'copy', destinationId: DEST, file: 'a_1.sar.age', encrypted: true });
  });

  it('sends no section list for all three or merge, the chosen ones otherwise, and the key only for an encrypted archive', () => {
    const f = { ...initialForm(new URLSearchParams({ runId: RUN })), passphrase: 'secret words here' };
    expect(toRestoreRequest(f, true)).toEqual({ source: { runId: RUN }, mode: 'replace', preview: true, allowOtherPbx: false });
    expect(toRestoreRequest({ ...f, sections: ['cdrAndVoicemails', 'coreData'] }, false).sections).toEqual(['coreData', 'cdrAndVoicemails']);
    expect(toRestoreRequest({ ...f, mode: 'merge', sections: ['coreData'] }, false).sections).toBeUndefined();
    expect(toRestoreRequest({ ...f, encrypted: true }, false)).toMatchObject({ passphrase: 'secret words here' });
    const keyFile = '# created: 2025-01-01T00:00:00Z\n# public key: age1xyz\nAGE-SECRET-KEY-1QQQ7ZZ9\n';
    expect(toRestoreRequest({ ...f, encrypted: true, keyKind: 'identity', identity: keyFile }, false)).toMatchObject({ identity: 'AGE-SECRET-KEY-1QQQ7ZZ9' });
    expect(toRestoreRequest({ ...f, encrypted: true, keyKind: 'identity', identity: keyFile }, false)).not.toHaveProperty('passphrase');
  });

  it('an identity pasted into a one-line input (line breaks gone) is still found', () => {
    expect(identityOf('# public key: age1abc AGE-SECRET-KEY-1ABC2DEF')).toBe('AGE-SECRET-KEY-1ABC2DEF');
    expect(identityOf('age1abc')).toBeNull();
  });

  it('asks for a source, a section and the key of an encrypted archive before the preview', () => {
    const f = initialForm(new URLSearchParams());
    expect(problemsOf({ ...f, sections: [] })).toEqual({ source: 'chooseSource', sections: 'chooseSection' });
    expect(problemsOf({ ...f, runId: RUN, encrypted: true })).toEqual({ key: 'keyRequired' });
    expect(problemsOf({ ...f, runId: RUN, encrypted: true, keyKind: 'identity', identity: 'nope' })).toEqual({ key: 'identityInvalid' });
    expect(problemsOf({ ...f, runId: RUN, encrypted: true, passphrase: 'x' })).toEqual({});
  });
});

describe('restoreErrorOf (the engine\'s and libs/encryption\'s wording)', () => {
  it('tells decryptFailed, otherPbx, a damaged entry and the rest apart', () => {
    expect(restoreErrorOf('the archive could not be decrypted: no identity matched any of the recipients').kind).toBe('decryptFailed');
    expect(restoreErrorOf('the archive is of PBX "a", not "b"; pass allowOtherPbx to restore it here').kind).toBe('otherPbx');
    expect(restoreErrorOf('damaged archive: voicemail/1004/vm-7.wav: sha256 1 != manifest 2 (entry voicemail/1004/vm-7.wav)')).toMatchObject({ kind: 'damaged', entry: 'voicemail/1004/vm-7.wav' });
    expect(restoreErrorOf('the archive does not hold announcements (it holds: core)').kind).toBe('sectionNotInArchive');
    expect(restoreErrorOf('coreData can only be replaced; merge is for cdrAndVoicemails').kind).toBe('modeNotAllowed');
    expect(restoreErrorOf('disk on fire').kind).toBe('other');
  });
});

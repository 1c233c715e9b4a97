import {
  absolutePathProblems,
  canonicalName,
  nameKey,
  portableNameProblems,
  relativePathProblems,
  sftpPathProblems,
  sharePathProblems,
  textProblems,
} from './canonical';

describe('canonical input rules', () => {
  describe('textProblems', () => {
    it.each([
      ['U+202E right-to-left override', 'a\u202Eb', /formatting/],
      ['U+200B zero-width space', 'a\u200Bb', /formatting/],
      ['U+200D zero-width joiner', 'a\u200Db', /formatting/],
      ['U+FEFF byte order mark', 'a\uFEFFb', /formatting/],
      ['U+2066 bidi isolate', 'a\u2066b', /formatting/],
      ['U+00AD soft hyphen', 'a\u00ADb', /formatting/],
      ['NUL', 'a\u0000b', /control/],
      ['DEL', 'a\u007Fb', /control/],
      ['C1 control', 'a\u0085b', /control/],
      ['line separator', 'a\u2028b', /control/],
      ['unpaired high surrogate', 'a\uD800b', /surrogate/],
      ['unpaired low surrogate', 'a\uDC00', /surrogate/],
    ])('refuses %s', (_label, value, message) => {
      expect(textProblems(value)).toEqual([expect.stringMatching(message)]);
    });

    it('accepts letters, marks and emoji of every script', () => {
      for (const ok of ['Nightly full', 'Übersicht', 'Cafe\u0301', '東京', 'שלום', '🎉', 'a-b_c (1)']) expect(textProblems(ok)).toEqual([]);
    });
  });

  describe('portableNameProblems (configuration names, USB devices, share segments, file names)', () => {
    it.each([
      ['', /must not be empty/],
      ['.', /"\." or "\.\."/],
      ['..', /"\." or "\.\."/],
      ['a/b', /must not contain \/ \\/],
      ['a\\b', /must not contain \/ \\/],
      ['a:b', /must not contain/],
      [' lead', /start or end with a space/],
      ['trail ', /start or end with a space/],
      ['dot.', /end with a dot/],
      ['CON', /reserved device name/],
      ['lpt1.txt', /reserved device name/],
      ['..%2fx', /percent-encoded/],
      ['a%5Cb', /percent-encoded/],
      ['%2E%2E', /percent-encoded/],
      ['x%00', /percent-encoded/],
      ['\u00e9'.repeat(128), /255 bytes/],
      ['Night\u202Ely', /formatting/],
    ])('refuses %p', (name, message) => {
      expect(portableNameProblems(name)).toContainEqual(expect.stringMatching(message));
    });

    it.each(['Nightly full', 'a%20b', '100%', 'Caf\u00e9', 'x'.repeat(255), '\u00e9'.repeat(127), 'Nightly full_20261201-013000.sar'])('accepts %p', (name) => {
      expect(portableNameProblems(name)).toEqual([]);
    });
  });

  describe('paths are judged by segments, not prefixes', () => {
    it.each([
      ['..%2fx', /percent-encoded/],
      ['a/..%2f..%2fetc', /percent-encoded/],
      ['a/../b', /"\." or "\.\." segments/],
      ['a/./b', /"\." or "\.\." segments/],
      ['..', /"\." or "\.\." segments/],
      ['a//b', /empty segments/],
      ['a\\..\\b', /not \\/],
      ['a/ b', /start or end with a space/],
      ['a/b /c', /start or end with a space/],
      ['a/\u0000', /control/],
      [`a/${'x'.repeat(256)}`, /255 bytes/],
      ['x'.repeat(1025), /at most 1024/],
      ['/abs', /relative/],
      ['', /must not be empty/],
    ])('relative %p is refused', (path, message) => {
      expect(relativePathProblems(path)).toContainEqual(expect.stringMatching(message));
    });

    it.each(['pbx', 'pbx/nightly', 'pbx/', '..a/b..', 'a.b/c', 'x'.repeat(255)])('relative %p is accepted', (path) => {
      expect(relativePathProblems(path)).toEqual([]);
    });

    it('absolute (Dropbox) and SFTP paths', () => {
      expect(absolutePathProblems('/')).toEqual([]);
      expect(absolutePathProblems('/PBX/nightly/')).toEqual([]);
      expect(absolutePathProblems('PBX')).toEqual([expect.stringMatching(/absolute/)]);
      expect(absolutePathProblems('/PBX/..%2F..')).toEqual([expect.stringMatching(/percent-encoded/)]);
      expect(absolutePathProblems('//PBX')).toEqual([expect.stringMatching(/empty segments/)]);
      expect(sftpPathProblems('.')).toEqual([]);
      expect(sftpPathProblems('/srv/backups')).toEqual([]);
      expect(sftpPathProblems('backups')).toEqual([expect.stringMatching(/or "\." for the login folder/)]);
      expect(sftpPathProblems('/srv/../etc')).toEqual([expect.stringMatching(/"\." or "\.\." segments/)]);
    });

    it('share paths: every segment is a Windows name', () => {
      expect(sharePathProblems('backups/pbx/site-a')).toEqual([]);
      expect(sharePathProblems('backups\\pbx')).toEqual([expect.stringMatching(/then sub-folders joined with \//)]);
      expect(sharePathProblems('/backups')).toEqual([expect.stringMatching(/start with the share name/)]);
      expect(sharePathProblems('backups/a:b')).toEqual([expect.stringMatching(/must not contain \//)]);
      expect(sharePathProblems('backups/../admin$')).toEqual([expect.stringMatching(/"\." or "\.\." segments/)]);
      expect(sharePathProblems('backups/pbx.')).toEqual([expect.stringMatching(/end with a dot/)]);
    });

    it('lists each problem once', () => {
      expect(relativePathProblems('../../..')).toEqual(['must not contain "." or ".." segments']);
    });
  });

  describe('canonicalName and nameKey', () => {
    it('stores NFC: NFD and NFC spellings become the same string', () => {
      expect(canonicalName('Cafe\u0301')).toBe('Caf\u00e9');
      expect(canonicalName('Caf\u00e9')).toBe('Caf\u00e9');
    });

    it.each([
      ['Caf\u00e9', 'CAFE\u0301'],
      ['Stra\u00dfe', 'STRASSE'],
      ['\u039f\u0394\u039f\u03a3', '\u03bf\u03b4\u03bf\u03c2'], // final sigma
      ['\ufb01le', 'FILE'], // the "fi" ligature
      ['Nightly', 'nIGHTLY'],
    ])('%p and %p have one key', (a, b) => {
      expect(nameKey(a)).toBe(nameKey(b));
    });

    it('keeps different names apart and fits the column (at most 3 characters per character)', () => {
      expect(nameKey('Cafe')).not.toBe(nameKey('Caf\u00e9'));
      expect([...nameKey('\ufb03'.repeat(64))].length).toBe(192);
    });
  });
});

import fc from 'fast-check';
import type { z } from 'zod';
import { backupDir, dropboxRoot, localSubPath, sftpBaseDir, smbShareSegments, usbDeviceName } from '@pbx/destinations';
import { validate } from '../common/validation';
import { destinationSchema } from '@pbx/contracts';
import { NAME_MAX_LENGTH } from './configuration-fields';
import { createBackupConfigurationSchema } from './configuration.schema';

/**
 * Whatever the api accepts, the adapter delivers to, and vice versa: every name and path field
 * goes through the request schema and through the adapter's own check, and both must agree.
 */
const create = createBackupConfigurationSchema({ defaultTimezone: 'UTC' });

const accepts = (schema: z.ZodType, body: unknown): boolean => {
  try {
    validate(schema, body);
    return true;
  } catch {
    return false;
  }
};
const delivers = (check: () => unknown): boolean => {
  try {
    check();
    return true;
  } catch {
    return false;
  }
};

const FIELDS: Record<string, { api: (v: string) => boolean; adapter: (v: string) => boolean }> = {
  'configuration name': {
    api: (name) =>
      accepts(create, { name, reportTo: 'ops@example.com', interval: 'manual', data: { coreData: true }, destinations: [{ type: 'local' }] }),
    // The 64-character limit is the column's, not a path rule: longer names are left out below.
    adapter: (name) => delivers(() => backupDir(name)),
  },
  'local path': {
    api: (path) => accepts(destinationSchema, { type: 'local', path }),
    adapter: (path) => delivers(() => localSubPath({ type: 'local', path })),
  },
  'usb device': {
    api: (device) => accepts(destinationSchema, { type: 'usb', device }),
    adapter: (device) => delivers(() => usbDeviceName({ type: 'usb', device })),
  },
  'smb share': {
    api: (share) => accepts(destinationSchema, { type: 'smb', server: 'nas', share, username: 'u', password: 'p', security: 'ntlmv2' }),
    adapter: (share) => delivers(() => smbShareSegments({ type: 'smb', server: 'nas', share, username: 'u', password: 'p', security: 'ntlmv2' })),
  },
  'sftp path': {
    api: (path) => accepts(destinationSchema, { type: 'sftp', host: 'h', username: 'u', password: 'p', path }),
    adapter: (path) => delivers(() => sftpBaseDir({ type: 'sftp', host: 'h', username: 'u', password: 'p', path })),
  },
  'dropbox path': {
    api: (path) => accepts(destinationSchema, { type: 'dropbox', refreshToken: 't', path }),
    adapter: (path) => delivers(() => dropboxRoot({ type: 'dropbox', refreshToken: 't', path })),
  },
};

// Good and bad values of every field (a value good for one field is often bad for another).
const TABLE = [
  'Nightly full', 'pbx', 'pbx/nightly', 'pbx/', '/', '/PBX', '/PBX/nightly/', '.', '..', '/..', 'a/../b', '/srv/./x', 'a//b', '//a', '',
  '..%2fx', '/a/..%2F..%2Fetc', 'a%5cb', '%2e%2e', 'x%00', 'a%20b', '100%', 'a\\b', '\\\\server\\share', 'a:b', 'CON', 'aux.txt', 'dot.', '/a/dot./b',
  ' lead', 'trail ', '/a/ b', 'a\u0000b', 'a\nb', 'a\u007fb', 'a\u0085b', 'a\u2028b', 'Night\u202Ely', 'a\u200Bb', '\uFEFFx', 'a\u00ADb', 'a\uD800b',
  'Caf\u00e9', 'Cafe\u0301', '東京/大阪', '🎉', 'x'.repeat(255), 'x'.repeat(256), `/${'é'.repeat(128)}`, `/${'é'.repeat(127)}`, `a/${'b'.repeat(1030)}`,
];

describe('the api and the adapters agree on names and paths', () => {
  describe.each(Object.entries(FIELDS))('%s', (field, { api, adapter }) => {
    const values = field === 'configuration name' ? TABLE.filter((v) => v.length <= NAME_MAX_LENGTH) : TABLE;

    it.each(values.map((v) => [JSON.stringify(v).slice(0, 60), v]))('%s: both accept or both refuse', (_label, value) => {
      expect({ value, adapter: adapter(value) }).toEqual({ value, adapter: api(value) });
    });

    it('generated values: both accept or both refuse', () => {
      const piece = fc.constantFrom('a', 'é', 'e\u0301', '/', '\\', '.', '..', '%2f', '%2E', ' ', ':', '\u202E', '\u200B', '\u0000', '\uD800', 'CON', '東');
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
          const value = pieces.join('');
          if (field === 'configuration name' && value.length > NAME_MAX_LENGTH) return;
          expect({ value, adapter: adapter(value) }).toEqual({ value, adapter: api(value) });
        }),
        { numRuns: 500 },
      );
    });
  });
});

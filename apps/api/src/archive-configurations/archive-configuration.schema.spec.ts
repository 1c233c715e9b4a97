import { z } from 'zod';
import { validate } from '../common/validation';
import { changed, errorsOf, EXISTING_ID, fields, type Body } from '../fixtures.test-helper';
import { createArchiveConfigurationSchema, patchArchiveConfigurationSchema } from './archive-configuration.schema';

const create = createArchiveConfigurationSchema({ defaultTimezone: 'UTC' });
const patch = patchArchiveConfigurationSchema({ defaultTimezone: 'UTC' });

function validBody(): Body {
  return {
    name: 'Monthly CDR archive',
    reportTo: 'ops@example.com',
    interval: 'monthly',
    startAt: '2026-12-01T03:00',
    timezone: 'Europe/Berlin',
    items: { cdr: { enabled: true, daysToKeep: 90 }, voicemails: { enabled: false, daysToKeep: 0 } },
    destinations: [{ type: 'sftp', host: 'archive.example.com', username: 'pbx', password: 'x', path: '/archive', port: 22 }],
    action: 'save',
  };
}

describe('createArchiveConfigurationSchema', () => {
  it('accepts the example and applies defaults', () => {
    expect(validate(create, validBody())).toEqual({ ...validBody(), notifyOnSuccess: false, language: 'en', encryption: { mode: 'none' }, webhooks: [] });
  });

  it('a left-out item is disabled; daysToKeep 0 means everything', () => {
    const out = validate(create, { ...validBody(), items: { voicemails: { enabled: true, daysToKeep: 0 } }, timezone: undefined });
    expect(out.items).toEqual({ cdr: { enabled: false, daysToKeep: 0 }, voicemails: { enabled: true, daysToKeep: 0 } });
    expect(out.timezone).toBe('UTC');
  });

  const cases: Array<[string, Body, string, RegExp]> = [
    ['bad name', { name: 'a<b' }, 'name', /must not contain/],
    ['missing items', { items: undefined }, 'items', /is required/],
    ['nothing enabled', { items: { cdr: { enabled: false, daysToKeep: 1 } } }, 'items', /at least one of cdr, voicemails/],
    ['empty items', { items: {} }, 'items', /at least one/],
    ['unknown item', { items: { cdr: { enabled: true, daysToKeep: 1 }, faxes: { enabled: true, daysToKeep: 1 } } }, 'items.faxes', /not a known field/],
    ['item without daysToKeep', { items: { cdr: { enabled: true } } }, 'items.cdr.daysToKeep', /is required/],
    ['item without enabled', { items: { cdr: { daysToKeep: 3 } } }, 'items.cdr.enabled', /is required/],
    ['negative daysToKeep', { items: { cdr: { enabled: true, daysToKeep: -1 } } }, 'items.cdr.daysToKeep', /0 or more/],
    ['fractional daysToKeep', { items: { voicemails: { enabled: true, daysToKeep: 1.5 } } }, 'items.voicemails.daysToKeep', /whole number/],
    ['string daysToKeep', { items: { voicemails: { enabled: true, daysToKeep: '30' } } }, 'items.voicemails.daysToKeep', /whole number/],
    ['huge daysToKeep', { items: { cdr: { enabled: true, daysToKeep: 100000 } } }, 'items.cdr.daysToKeep', /at most 36500/],
    ['enabled not boolean', { items: { cdr: { enabled: 1, daysToKeep: 3 } } }, 'items.cdr.enabled', /true or false/],
    ['missing startAt', { startAt: undefined }, 'startAt', /required when interval is "monthly"/],
    ['impossible startAt', { startAt: '2026-11-31T03:00' }, 'startAt', /not a valid date/],
    ['bad timezone', { timezone: 'Berlin' }, 'timezone', /IANA/],
    ['no destinations', { destinations: [] }, 'destinations', /at least one/],
    ['bad destination', { destinations: [{ type: 'sftp', host: 'h:22', username: 'u', password: 'x' }] }, 'destinations[0].host', /port field/],
    ['keepLast is a backup-only field', { keepLast: 3 }, 'keepLast', /not a known field/],
    ['data is a backup-only field', { data: { coreData: true } }, 'data', /not a known field/],
    ['bad action', { action: 'archive' }, 'action', /one of save, saveAndRun, runOnly/],
    ['bad language', { language: 'EN' }, 'language', /one of en, de/],
  ];

  it.each(cases)('%s → names the field', (_label, change, field, message) => {
    const hit = errorsOf(create, changed(validBody(), change)).find((e) => e.field === field);
    expect(hit).toBeDefined();
    expect(hit?.message).toMatch(message);
  });

  it('lists every error at once', () => {
    const errors = errorsOf(create, {
      name: '',
      reportTo: 'x',
      interval: 'daily',
      items: { cdr: { enabled: true, daysToKeep: -5 } },
      destinations: [{ type: 'usb', device: '../x' }],
    });
    expect(fields(errors).sort()).toEqual(['destinations[0].device', 'items.cdr.daysToKeep', 'name', 'reportTo', 'startAt']);
  });

  it('converts to JSON Schema', () => {
    const json = z.toJSONSchema(create, { io: 'input' }) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(json.properties).sort()).toEqual(
      ['action', 'destinations', 'encryption', 'interval', 'items', 'language', 'name', 'notifyOnSuccess', 'reportTo', 'startAt', 'timezone', 'webhooks'].sort(),
    );
    expect(json.required.sort()).toEqual(['destinations', 'interval', 'items', 'name', 'reportTo']);
    expect(() => z.toJSONSchema(patch, { io: 'input' })).not.toThrow();
    expect(() => z.toJSONSchema(create, { io: 'output' })).not.toThrow();
  });
});

describe('patchArchiveConfigurationSchema', () => {
  it('accepts partial updates without defaults', () => {
    expect(validate(patch, {})).toEqual({});
    expect(validate(patch, { interval: 'manual' })).toEqual({ interval: 'manual' });
  });

  it('refuses action and validates given fields', () => {
    const errors = errorsOf(patch, { action: 'runOnly', items: {}, name: 'x/y' });
    expect(fields(errors).sort()).toEqual(['action', 'items', 'name']);
  });

  it('destinations with an id keep their secrets', () => {
    expect(errorsOf(patch, { destinations: [{ id: EXISTING_ID, type: 'sftp', host: 'h', username: 'u' }] })).toEqual([]);
    expect(fields(errorsOf(patch, { destinations: [{ type: 'sftp', host: 'h', username: 'u' }] }))).toEqual(['destinations[0].password']);
  });
});

import { DomainError } from '@pbx/contracts';
import fc from 'fast-check';
import { z } from 'zod';
import { createArchiveConfigurationSchema } from '../archive-configurations/archive-configuration.schema';
import { parseStartAt } from '@pbx/scheduling';
import { createBackupConfigurationSchema, patchBackupConfigurationSchema } from '../configurations/configuration.schema';
import {
  deadLettersQuerySchema,
  formatFieldPath,
  paginationQuerySchema,
  runsQuerySchema,
  validate,
} from './validation';

const createSchema = createBackupConfigurationSchema({ defaultTimezone: 'UTC' });
const patchSchema = patchBackupConfigurationSchema({ defaultTimezone: 'UTC' });
const archiveSchema = createArchiveConfigurationSchema({ defaultTimezone: 'UTC' });

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('validate', () => {
  it('returns the parsed value', () => {
    expect(validate(z.object({ a: z.number().default(1) }), {})).toEqual({ a: 1 });
  });

  it("throws DomainError('validation', 'Request validation failed', errors)", () => {
    const err = caught(() => validate(z.strictObject({ a: z.string(), b: z.array(z.object({ c: z.number() })) }), { b: [{ c: 1 }, { c: 'x' }], d: 1 }));
    expect(err).toBeInstanceOf(DomainError);
    const e = err as DomainError;
    expect(e.code).toBe('validation');
    expect(e.message).toBe('Request validation failed');
    expect(e.errors).toEqual([
      { field: 'a', message: 'is required' },
      { field: 'b[1].c', message: 'must be a number' },
      { field: 'd', message: 'is not a known field' },
    ]);
  });

  it('gives readable fallback messages to schemas without their own', () => {
    const schema = z.strictObject({
      s: z.string().min(3),
      n: z.number().max(5),
      e: z.enum(['x', 'y']),
      u: z.uuid(),
      l: z.array(z.string()).min(1),
      nv: z.never().optional(),
    });
    const e = caught(() => validate(schema, { s: 'a', n: 9, e: 'z', u: 'nope', l: [], nv: 1 })) as DomainError;
    expect(e.errors).toEqual([
      { field: 's', message: 'must be at least 3 characters' },
      { field: 'n', message: 'must be at most 5' },
      { field: 'e', message: 'must be one of x, y' },
      { field: 'u', message: 'must be a UUID' },
      { field: 'l', message: 'must contain at least 1 entries' },
      { field: 'nv', message: 'is not allowed' },
    ]);
  });

  it('names the body itself when it is not an object', () => {
    for (const body of [null, undefined, 'text', 42, [1]]) {
      const e = caught(() => validate(createSchema, body)) as DomainError;
      expect(e).toBeInstanceOf(DomainError);
      expect(e.errors.map((x) => x.field)).toEqual(['body']);
    }
  });

  it('formatFieldPath writes JS-style paths', () => {
    expect(formatFieldPath([])).toBe('body');
    expect(formatFieldPath(['startAt'])).toBe('startAt');
    expect(formatFieldPath(['destinations', 0, 'host'])).toBe('destinations[0].host');
    expect(formatFieldPath(['items', 'cdr', 'daysToKeep'])).toBe('items.cdr.daysToKeep');
    expect(formatFieldPath(['a b', 2])).toBe('["a b"][2]');
  });
});

describe('query schemas', () => {
  it('pagination defaults and coerces query strings', () => {
    expect(validate(paginationQuerySchema, {})).toEqual({ page: 1, limit: 20 });
    expect(validate(paginationQuerySchema, { page: '3', limit: '100' })).toEqual({ page: 3, limit: 100 });
  });

  it.each([
    [{ page: '0' }, 'page'],
    [{ page: 'abc' }, 'page'],
    [{ page: '1.5' }, 'page'],
    [{ page: '' }, 'page'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: ['1', '2'] }, 'limit'],
    [{ pgae: '2' }, 'pgae'],
  ])('pagination refuses %p', (query, field) => {
    const e = caught(() => validate(paginationQuerySchema, query)) as DomainError;
    expect(e).toBeInstanceOf(DomainError);
    expect(e.errors.map((x) => x.field)).toEqual([field]);
  });

  it('runs query', () => {
    const id = '8d7e8a0e-9d4f-4a52-9b1f-0f4b2b8f4a11';
    expect(validate(runsQuerySchema, { configurationId: id, status: 'partially_failed', kind: 'archive', page: '2' })).toEqual({
      configurationId: id,
      status: 'partially_failed',
      kind: 'archive',
      page: 2,
      limit: 20,
    });
    const e = caught(() => validate(runsQuerySchema, { configurationId: 'x', status: 'done', kind: 'full' })) as DomainError;
    expect(e.errors.map((x) => x.field)).toEqual(['configurationId', 'status', 'kind']);
    expect(e.errors[1].message).toMatch(/queued, deferred, packing, dispatching, succeeded, partially_failed, failed/);
  });

  it('dead letters query', () => {
    const runId = '8d7e8a0e-9d4f-4a52-9b1f-0f4b2b8f4a11';
    expect(validate(deadLettersQuerySchema, { queue: 'packer.jobs.v1', type: 'backup.due', runId })).toEqual({
      queue: 'packer.jobs.v1',
      type: 'backup.due',
      runId,
      page: 1,
      limit: 20,
    });
    const e = caught(() => validate(deadLettersQuerySchema, { queue: 'a b', type: '', runId: '1' })) as DomainError;
    expect(e.errors.map((x) => x.field)).toEqual(['queue', 'type', 'runId']);
  });

  it.each([
    ['pagination', paginationQuerySchema],
    ['runs', runsQuerySchema],
    ['dead letters', deadLettersQuerySchema],
  ] as const)('%s converts to JSON Schema', (_label, schema) => {
    expect(() => z.toJSONSchema(schema, { io: 'input' })).not.toThrow();
  });
});

// -------------------------------------------------------------------------------------------
// Property tests: thousands of malformed bodies

/** The contract's definition of a bad name, written independently of the schema. */
function isBadName(name: unknown): boolean {
  if (typeof name !== 'string') return true;
  return (
    name.length === 0 ||
    name.length > 64 ||
    /^\s|\s$/.test(name) ||
    /[/\\:*?"<>|]/.test(name) ||
    /[\u0000-\u001f\u007f]/.test(name) ||
    name === '.' ||
    name === '..'
  );
}

const validDestination = fc.constantFrom<Record<string, unknown>>(
  { type: 'local' },
  { type: 'local', path: 'a/b' },
  { type: 'smb', server: 'nas', share: 'b/pbx', username: 'u', password: 'p', security: 'ntlmv2' },
  { type: 'sftp', host: 'h.example.com', username: 'u', password: 'p', path: '/srv' },
  { type: 'dropbox', refreshToken: 'tok' },
  { type: 'usb', device: 'stick' },
  { type: 'email', to: 'a@example.com' },
);

const goodName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,62}[A-Za-z0-9]$/);

const validBody = fc.record({
  name: goodName,
  reportTo: fc.constantFrom('ops@example.com', 'a.b@c.de'),
  interval: fc.constantFrom('manual', 'hourly', 'daily', 'weekly', 'monthly'),
  startAt: fc.constantFrom('2026-12-01T02:30:00', '2026-03-29T02:30', '2027-01-01T00:00:00+01:00'),
  timezone: fc.constantFrom('Europe/Berlin', 'UTC', 'America/New_York'),
  data: fc.constantFrom({ coreData: true }, { cdrAndVoicemails: true, announcements: false }, { coreData: true, cdrAndVoicemails: true, announcements: true }),
  destinations: fc.array(validDestination, { minLength: 1, maxLength: 4 }),
  action: fc.constantFrom('save', 'saveAndRun', 'runOnly'),
});

const FIELDS = ['name', 'reportTo', 'interval', 'startAt', 'timezone', 'data', 'destinations', 'action', 'keepLast', 'language', 'notifyOnSuccess'];

/** Hostile values: wrong types, edge strings, prototype keys, deep nesting. */
const weirdValue = fc.oneof(
  fc.anything({ maxDepth: 3, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.constantFrom('', ' ', '.', '..', '__proto__', 'constructor', 'NaN', '-1', '1e309', 'sftp://x', '\u0000', '\\\\srv\\share', '2026-02-30T00:00'),
  fc.constantFrom(NaN, Infinity, -0, 2 ** 53, -1, 0.5, null, true),
);

/** A valid body broken in 1-4 places: a field replaced, deleted, added, or a destination mangled. */
const malformedBody = fc
  .tuple(
    validBody,
    fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('replace' as const), field: fc.constantFrom(...FIELDS), value: weirdValue }),
        fc.record({ op: fc.constant('delete' as const), field: fc.constantFrom(...FIELDS) }),
        fc.record({ op: fc.constant('add' as const), field: fc.string({ maxLength: 12 }), value: weirdValue }),
        fc.record({ op: fc.constant('destination' as const), key: fc.constantFrom('type', 'host', 'server', 'share', 'path', 'password', 'port', 'device', 'to', 'id', 'x'), value: weirdValue }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([body, ops]) => {
    const out: Record<string, unknown> = { ...body, destinations: body.destinations.map((d) => ({ ...d })) };
    for (const op of ops) {
      if (op.op === 'replace') out[op.field] = op.value;
      else if (op.op === 'delete') delete out[op.field];
      else if (op.op === 'add') Object.defineProperty(out, op.field, { value: op.value, enumerable: true, writable: true, configurable: true });
      else if (Array.isArray(out.destinations) && typeof out.destinations[0] === 'object' && out.destinations[0] !== null) {
        Object.defineProperty(out.destinations[0], op.key, { value: op.value, enumerable: true, writable: true, configurable: true });
      }
    }
    return out;
  });

/** Runs validate; returns 'ok' or the DomainError, and fails the property on anything else. */
function outcome(schema: z.ZodType, body: unknown): 'ok' | DomainError {
  try {
    validate(schema, body);
    return 'ok';
  } catch (err) {
    if (!(err instanceof DomainError) || err.code !== 'validation') throw new Error(`unexpected throw: ${String(err)}`);
    if (err.errors.length === 0) throw new Error('DomainError without field errors');
    for (const e of err.errors) {
      if (typeof e.field !== 'string' || e.field === '' || typeof e.message !== 'string' || e.message === '') {
        throw new Error(`bad field error ${JSON.stringify(e)}`);
      }
    }
    return err;
  }
}

const badName = fc.oneof(
  fc.constantFrom('', '.', '..', ' ', 'x'.repeat(65)),
  fc.tuple(fc.string({ maxLength: 30 }), fc.constantFrom(...'/\\:*?"<>|'.split(''), '\u0000', '\u001f', '\u007f', '\n'), fc.string({ maxLength: 30 })).map(([a, c, b]) => a + c + b),
  fc.tuple(fc.constantFrom(' ', '\t', '\u00a0', '\u3000'), goodName).map(([ws, n]) => ws + n),
  fc.tuple(goodName, fc.constantFrom(' ', '\t', '\u2003')).map(([n, ws]) => n + ws),
  fc.string({ minLength: 65, maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 70 }).filter(isBadName),
);

describe('validate: properties', () => {
  it('valid generated bodies are accepted (the generators are sound)', () => {
    fc.assert(fc.property(validBody, (body) => outcome(createSchema, body) === 'ok'), { numRuns: 500 });
  });

  it('every accepted startAt resolves in its timezone (luxon), DST gaps included', () => {
    const wallTime = fc
      .tuple(
        fc.integer({ min: 2000, max: 2099 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined }),
        fc.constantFrom('', '.5', '.250', '.123456789'),
        fc.constantFrom('', 'Z', '+01:00', '-05:30', '+0100'),
      )
      .map(([y, mo, d, h, mi, sec, frac, off]) => {
        const p = (n: number) => String(n).padStart(2, '0');
        return `${y}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}${sec === undefined ? '' : `:${p(sec)}${frac}`}${off}`;
      });
    const zone = fc.constantFrom('Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC', 'Pacific/Apia');
    fc.assert(
      fc.property(validBody, wallTime, zone, (body, startAt, timezone) => {
        const result = outcome(createSchema, { ...body, startAt, timezone });
        const [y, mo, d] = startAt.slice(0, 10).split('-').map(Number);
        const real = new Date(Date.UTC(y, mo - 1, d)).getUTCDate() === d;
        // Accepted exactly when the calendar date is real, and then the scheduler reads it.
        if (result === 'ok') return real && parseStartAt(startAt, timezone).ok;
        return !real && result.errors.some((e) => e.field === 'startAt' && /not a valid date/.test(e.message));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws anything but a DomainError(validation) for malformed bodies', () => {
    fc.assert(
      fc.property(malformedBody, (body) => {
        outcome(createSchema, body);
        outcome(patchSchema, body);
        outcome(archiveSchema, body);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a DomainError(validation) for arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true }), (body) => {
        outcome(createSchema, body);
        outcome(patchSchema, body);
      }),
      { numRuns: 1000 },
    );
  });

  it('never accepts a body with a bad name, and names the field', () => {
    fc.assert(
      fc.property(validBody, badName, (body, name) => {
        fc.pre(isBadName(name));
        const { data: _data, ...archiveBody } = body;
        const bodies: Array<[z.ZodType, unknown]> = [
          [createSchema, { ...body, name }],
          [patchSchema, { name }],
          [archiveSchema, { ...archiveBody, items: { cdr: { enabled: true, daysToKeep: 0 } }, name }],
        ];
        for (const [schema, candidate] of bodies) {
          const result = outcome(schema, candidate);
          if (result === 'ok' || !result.errors.some((e) => e.field === 'name')) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('any accepted name is a good name (random strings)', () => {
    fc.assert(
      fc.property(validBody, fc.oneof(fc.string({ unit: 'binary', maxLength: 70 }), fc.string({ maxLength: 70 })), (body, name) => {
        const result = outcome(createSchema, { ...body, name });
        return result !== 'ok' || !isBadName(name);
      }),
      { numRuns: 3000 },
    );
  });
});

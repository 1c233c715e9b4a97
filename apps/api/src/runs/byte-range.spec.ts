import { contentDisposition, parseRange } from './byte-range';

describe('parseRange', () => {
  it.each([
    [undefined, 100, { kind: 'full' }],
    ['bytes=0-9', 100, { kind: 'partial', range: { start: 0, end: 9 } }],
    ['bytes=90-', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=-10', 100, { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=-1000', 100, { kind: 'partial', range: { start: 0, end: 99 } }],
    ['bytes=50-1000', 100, { kind: 'partial', range: { start: 50, end: 99 } }],
    ['bytes=0-1,5-6', 100, { kind: 'full' }],
    ['bytes=0-1,200-300', 100, { kind: 'full' }],
    ['bytes=0-1,x', 100, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=10-5', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=-', 100, { kind: 'unsatisfiable' }],
    ['items=0-1', 100, { kind: 'full' }],
    ['pages = 1-2', 100, { kind: 'full' }],
    ['BYTES=0-9', 100, { kind: 'partial', range: { start: 0, end: 9 } }],
    ['0-9', 100, { kind: 'unsatisfiable' }],
    ['bytes=abc', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-0', 0, { kind: 'unsatisfiable' }],
  ])('%s of %d bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('contentDisposition', () => {
  it('quotes ASCII names', () => {
    expect(contentDisposition('Nightly full_20261201-013000.sar')).toBe('attachment; filename="Nightly full_20261201-013000.sar"');
  });
  it('adds an RFC 5987 filename* for non-ASCII names', () => {
    expect(contentDisposition('Sicherung Büro.sar')).toBe(`attachment; filename="Sicherung B_ro.sar"; filename*=UTF-8''Sicherung%20B%C3%BCro.sar`);
  });
});

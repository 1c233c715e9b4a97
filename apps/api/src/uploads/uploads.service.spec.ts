import { parseContentRange } from './uploads.service';

describe('parseContentRange', () => {
  it('reads a piece with or without a known total, and a bare state query', () => {
    expect(parseContentRange('bytes 0-9/100')).toEqual({ first: 0, last: 9, total: 100 });
    expect(parseContentRange('bytes 10-19/*')).toEqual({ first: 10, last: 19, total: null });
    expect(parseContentRange('bytes */100')).toEqual({ first: null, total: 100 });
    expect(parseContentRange(undefined)).toBeNull();
  });

  it('refuses what is not one byte range inside the total', () => {
    for (const bad of ['bytes 9-0/100', 'bytes 0-100/100', 'bytes */*', 'items 0-1/2', 'bytes=0-1', 'bytes 0-1,3-4/10']) expect(parseContentRange(bad)).toBe('invalid');
  });
});

import fc from 'fast-check';
import { CsvRowCounter } from './csv-row-counter';

function csvOf(rows: string[][]): string {
  return rows.map((r) => r.map((f) => (/[",\n\r]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',') + '\n').join('');
}

describe('CsvRowCounter', () => {
  it('counts records, ignoring newlines inside quoted fields', () => {
    const c = new CsvRowCounter();
    c.push(Buffer.from('id,body\n1,"a\nb"\n2,"say ""hi""\n"\n3,x\n'));
    expect(c.count).toBe(4);
    expect(c.dataRows).toBe(3);
  });

  it('counts a last record without trailing newline', () => {
    const c = new CsvRowCounter();
    c.push(Buffer.from('h\n1\n2'));
    expect(c.dataRows).toBe(2);
  });

  it('gives the same count however the stream is chunked', () => {
    const field = fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', 'ü', ' ') });
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { maxLength: 20 }), fc.array(fc.nat(50)), (rows, cuts) => {
        const buf = Buffer.from(csvOf(rows));
        const c = new CsvRowCounter();
        let pos = 0;
        for (const cut of cuts) {
          c.push(buf.subarray(pos, Math.min(buf.length, pos + cut)));
          pos = Math.min(buf.length, pos + cut);
        }
        c.push(buf.subarray(pos));
        expect(c.count).toBe(rows.length);
      }),
    );
  });
});

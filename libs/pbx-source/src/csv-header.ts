import { Transform, type Readable, type TransformCallback } from 'node:stream';

const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Passes a CSV stream through unchanged and tells its header's column names as soon as the
 * first line has gone by: COPY needs the column list before it starts reading, and the
 * archive's column order need not be the table's.
 */
export class CsvHeaderTap extends Transform {
  readonly columns: Promise<string[]>;
  private resolveColumns!: (columns: string[]) => void;
  private rejectColumns!: (err: Error) => void;
  private head: Buffer[] = [];
  private headBytes = 0;
  private found = false;

  constructor() {
    super({ highWaterMark: 1 << 20 });
    this.columns = new Promise((resolve, reject) => {
      this.resolveColumns = resolve;
      this.rejectColumns = reject;
    });
    this.columns.catch(() => undefined); // the caller awaits it; a failed stream rejects it too
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.found) {
      const nl = chunk.indexOf(0x0a);
      this.head.push(nl === -1 ? chunk : chunk.subarray(0, nl));
      this.headBytes += nl === -1 ? chunk.length : nl;
      if (nl !== -1) {
        this.found = true;
        this.resolveColumns(parseHeader(Buffer.concat(this.head).toString('utf8')));
        this.head = [];
      } else if (this.headBytes > MAX_HEADER_BYTES) {
        cb(new Error('CSV header line is implausibly long'));
        return;
      }
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (!this.found) {
      const err = new Error('CSV has no header line');
      this.rejectColumns(err);
      cb(err);
      return;
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.found) this.rejectColumns(err ?? new Error('CSV stream ended before its header'));
    cb(err);
  }

  /** Pipes `source` through a tap; the tap is what COPY should read. */
  static of(source: Readable): CsvHeaderTap {
    const tap = new CsvHeaderTap();
    source.once('error', (err) => tap.destroy(err));
    tap.once('close', () => source.destroy()); // a COPY that failed mid-way leaves nothing open
    source.pipe(tap);
    return tap;
  }
}

/** Column names of a COPY CSV header (quoted when they contain `,`, `"` or a newline). */
export function parseHeader(line: string): string[] {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const columns: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) throw new Error('unterminated quote in CSV header');
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      columns.push(value);
      i += 1; // the comma
    } else {
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? text.length : comma;
      columns.push(text.slice(i, end));
      i = end + 1;
    }
  }
  if (columns.some((c) => c === '')) throw new Error(`CSV header has an empty column name: ${JSON.stringify(line)}`);
  return columns;
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Counts CSV records in a stream of chunks without buffering it: a newline ends a record
 * unless it is inside a quoted field. Quote state flips on every `"` (an escaped `""`
 * flips twice), so only quote parity needs tracking across chunks. Uses indexOf, which
 * is native, instead of a per-byte loop in JS.
 */
export class CsvRowCounter {
  private records = 0;
  private inQuotes = false;
  private pendingPartial = false;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    let pos = 0;
    let nextQuote = chunk.indexOf(QUOTE, pos);
    for (;;) {
      const nextNewline = chunk.indexOf(NEWLINE, pos);
      if (nextNewline === -1) break;
      if (nextQuote !== -1 && nextQuote < nextNewline) {
        this.inQuotes = !this.inQuotes;
        pos = nextQuote + 1;
        nextQuote = chunk.indexOf(QUOTE, pos);
        continue;
      }
      if (!this.inQuotes) this.records += 1;
      pos = nextNewline + 1;
    }
    // Quotes after the last newline still count towards the state of the next chunk.
    while (nextQuote !== -1) {
      this.inQuotes = !this.inQuotes;
      nextQuote = chunk.indexOf(QUOTE, nextQuote + 1);
    }
    this.pendingPartial = chunk[chunk.length - 1] !== NEWLINE || this.inQuotes;
  }

  /** Records seen, including a final one without a trailing newline. */
  get count(): number {
    return this.records + (this.pendingPartial ? 1 : 0);
  }

  /** Data rows: records minus the header line. */
  get dataRows(): number {
    return Math.max(0, this.count - 1);
  }
}

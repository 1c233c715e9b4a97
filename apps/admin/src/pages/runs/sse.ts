/** One server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * Splits a text/event-stream into events, chunk by chunk (a chunk may end anywhere, even
 * inside a line). Comments (`: heartbeat`) and `retry:` lines are dropped.
 */
export class SseParser {
  private buffer = '';

  push(chunk: string): SseMessage[] {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const out: SseMessage[] = [];
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      const message: SseMessage = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'event') message.event = value;
        else if (field === 'id') message.id = value;
      }
      if (data.length) out.push({ ...message, data: data.join('\n') });
    }
    return out;
  }
}

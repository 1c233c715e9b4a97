export interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** A fetch-based SSE reader (what the admin UI does: EventSource cannot send the bearer header). */
export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  ended = false;
  private readonly abort = new AbortController();

  static async open(url: string, token: string): Promise<{ client: SseClient; res: Response }> {
    const client = new SseClient();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: client.abort.signal });
    if (res.ok && res.body) void client.pump(res.body);
    return { client, res };
  }

  close(): void {
    this.abort.abort();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
  }

  private parse(block: string): void {
    const fields = block.split('\n');
    if (fields.every((f) => f.startsWith(':'))) {
      this.comments++;
      return;
    }
    const get = (name: string) => fields.find((f) => f.startsWith(`${name}: `))?.slice(name.length + 2);
    const data = get('data');
    if (data !== undefined) this.events.push({ id: get('id'), event: get('event') ?? 'message', data: JSON.parse(data) as Record<string, unknown> });
  }
}


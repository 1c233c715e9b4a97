import { useEffect, useRef, useState } from 'react';
import { tokenStore } from '../../api/client';
import { SseParser, type SseMessage } from './sse';

export interface EventStreamState {
  /** The stream is open and delivering events. */
  streaming: boolean;
  /** The stream could not be opened or broke: the caller polls meanwhile. */
  fallback: boolean;
}

/** Wait before opening the stream again after it broke (doubling, at most 30 s). */
const RECONNECT_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Follows one of the api's event streams (GET …/events) with fetch and a stream reader:
 * EventSource cannot send the Authorization header, and a token in the URL would end up in
 * logs. Each (re)connect starts with the current state, so nothing is replayed. `onMessage`
 * answers true for the final event: then it stops. A stream that cannot be opened or breaks
 * sets `fallback` and is tried again.
 */
export function useEventStream(url: string, onMessage: (message: SseMessage) => boolean): EventStreamState {
  const [state, setState] = useState<EventStreamState>({ streaming: false, fallback: false });
  const handler = useRef(onMessage);
  handler.current = onMessage;

  useEffect(() => {
    const abort = new AbortController();
    let finalSeen = false;
    let attempt = 0;
    setState({ streaming: false, fallback: false });

    async function follow(): Promise<void> {
      const res = await fetch(url, {
        headers: { Accept: 'text/event-stream', Authorization: `Bearer ${tokenStore.get() ?? ''}` },
        signal: abort.signal,
      });
      if (!res.ok || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) throw new Error(`HTTP ${res.status}`);
      setState({ streaming: true, fallback: false });
      attempt = 0;
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const message of parser.push(value)) if (handler.current(message)) finalSeen = true;
      }
    }

    void (async () => {
      while (!abort.signal.aborted && !finalSeen) {
        try {
          await follow();
        } catch {
          // not opened, or broken: poll meanwhile and try again
        }
        if (abort.signal.aborted) break;
        setState((s) => ({ ...s, streaming: false }));
        if (finalSeen) break;
        setState({ streaming: false, fallback: true });
        const wait = RECONNECT_MS[Math.min(attempt++, RECONNECT_MS.length - 1)];
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
    return () => abort.abort();
  }, [url]);

  return state;
}

import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
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

/** What a run's or a restore's stream has said so far: its status, its progress and its parts by key. */
export interface LiveState<S, P, I> extends EventStreamState {
  status?: S;
  progress?: P;
  /** By key, in the order they first arrived. */
  items: I[];
}

type LiveData<S, P, I> = Omit<LiveState<S, P, I>, keyof EventStreamState>;
type LiveAction<S, P, I> = { type: 'status'; data: S } | { type: 'progress'; data: P } | { type: 'item'; data: I; key: string } | { type: 'reset' };

/**
 * The streams of runs and restores have one shape: `status` (ending with `final: true`),
 * `progress`, and one event per part (`itemEvent`: a delivery, a section) that replaces the
 * part with the same key.
 */
export function useLiveEvents<S extends { final: boolean }, P, I>(url: string, itemEvent: string, keyOf: (item: I) => string): LiveState<S, P, I> {
  const [data, dispatch] = useReducer((state: LiveData<S, P, I>, action: LiveAction<S, P, I>): LiveData<S, P, I> => {
    switch (action.type) {
      case 'status':
        return { ...state, status: action.data };
      case 'progress':
        return { ...state, progress: action.data };
      case 'item': {
        const i = state.items.findIndex((item) => keyOf(item) === action.key);
        return { ...state, items: i < 0 ? [...state.items, action.data] : state.items.map((item, j) => (j === i ? action.data : item)) };
      }
      case 'reset':
        return { items: [] };
    }
  }, { items: [] });
  useEffect(() => dispatch({ type: 'reset' }), [url]);
  const onMessage = useCallback(
    (message: SseMessage): boolean => {
      const parsed: unknown = JSON.parse(message.data);
      if (message.event === 'status') {
        const status = parsed as S;
        dispatch({ type: 'status', data: status });
        return status.final;
      }
      if (message.event === 'progress') dispatch({ type: 'progress', data: parsed as P });
      else if (message.event === itemEvent) dispatch({ type: 'item', data: parsed as I, key: keyOf(parsed as I) });
      return false;
    },
    [itemEvent, keyOf],
  );
  const stream = useEventStream(url, onMessage);
  return { ...data, ...stream };
}

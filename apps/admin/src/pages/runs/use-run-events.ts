import { useEffect, useReducer, useRef } from 'react';
import { tokenStore, type Schemas } from '../../api/client';
import { SseParser } from './sse';

export type RunStatusEvent = Schemas['RunStatusEvent'];
export type RunProgressEvent = Schemas['RunProgressEvent'];
export type RunDeliveryEvent = Schemas['RunDeliveryEvent'];

export interface LiveRun {
  status?: RunStatusEvent;
  progress?: RunProgressEvent;
  /** By delivery id, in the order they first arrived (the run's destination order). */
  deliveries: RunDeliveryEvent[];
  /** The stream is open and delivering events. */
  streaming: boolean;
  /** The stream could not be opened or broke: the page polls GET /runs/:id meanwhile. */
  fallback: boolean;
}

type Action =
  | { type: 'status'; data: RunStatusEvent }
  | { type: 'progress'; data: RunProgressEvent }
  | { type: 'delivery'; data: RunDeliveryEvent }
  | { type: 'streaming'; on: boolean }
  | { type: 'fallback'; on: boolean };

const initial: LiveRun = { deliveries: [], streaming: false, fallback: false };

function reduce(state: LiveRun, action: Action): LiveRun {
  switch (action.type) {
    case 'status':
      return { ...state, status: action.data };
    case 'progress':
      return { ...state, progress: action.data };
    case 'delivery': {
      const i = state.deliveries.findIndex((d) => d.id === action.data.id);
      const deliveries = i < 0 ? [...state.deliveries, action.data] : state.deliveries.map((d, j) => (j === i ? action.data : d));
      return { ...state, deliveries };
    }
    case 'streaming':
      return { ...state, streaming: action.on, fallback: action.on ? false : state.fallback };
    case 'fallback':
      return { ...state, fallback: action.on };
  }
}

/** Wait before opening the stream again after it broke (doubling, at most 30 s). */
const RECONNECT_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Follows GET /api/v1/runs/:id/events with fetch and a stream reader: EventSource cannot send
 * the Authorization header, and a token in the URL would end up in logs. Each (re)connect
 * starts with the run's current state, so nothing is replayed. A stream that cannot be opened
 * or breaks sets `fallback` (the caller polls) and is tried again; it ends after the final status.
 */
export function useRunEvents(runId: string): LiveRun {
  const [state, dispatch] = useReducer(reduce, initial);
  const finalSeen = useRef(false);

  useEffect(() => {
    const abort = new AbortController();
    finalSeen.current = false;
    let attempt = 0;

    async function follow(): Promise<void> {
      const res = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}/events`, {
        headers: { Accept: 'text/event-stream', Authorization: `Bearer ${tokenStore.get() ?? ''}` },
        signal: abort.signal,
      });
      if (!res.ok || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) throw new Error(`HTTP ${res.status}`);
      dispatch({ type: 'streaming', on: true });
      attempt = 0;
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const message of parser.push(value)) {
          const data: unknown = JSON.parse(message.data);
          if (message.event === 'status') {
            const status = data as RunStatusEvent;
            if (status.final) finalSeen.current = true;
            dispatch({ type: 'status', data: status });
          } else if (message.event === 'progress') dispatch({ type: 'progress', data: data as RunProgressEvent });
          else if (message.event === 'delivery') dispatch({ type: 'delivery', data: data as RunDeliveryEvent });
        }
      }
    }

    void (async () => {
      while (!abort.signal.aborted && !finalSeen.current) {
        try {
          await follow();
        } catch {
          // not opened, or broken: poll meanwhile and try again
        }
        dispatch({ type: 'streaming', on: false });
        if (abort.signal.aborted || finalSeen.current) break;
        dispatch({ type: 'fallback', on: true });
        const wait = RECONNECT_MS[Math.min(attempt++, RECONNECT_MS.length - 1)];
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
    return () => abort.abort();
  }, [runId]);

  return state;
}

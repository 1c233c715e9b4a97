import { useCallback, useEffect, useReducer } from 'react';
import type { Schemas } from '../../api/client';
import type { SseMessage } from './sse';
import { useEventStream } from './use-event-stream';

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

type Data = Omit<LiveRun, 'streaming' | 'fallback'>;

type Action = { type: 'status'; data: RunStatusEvent } | { type: 'progress'; data: RunProgressEvent } | { type: 'delivery'; data: RunDeliveryEvent } | { type: 'reset' };

const initial: Data = { deliveries: [] };

function reduce(state: Data, action: Action): Data {
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
    case 'reset':
      return initial;
  }
}

/** A run live, from GET /api/v1/runs/:id/events (useEventStream); it ends after the final status. */
export function useRunEvents(runId: string): LiveRun {
  const [data, dispatch] = useReducer(reduce, initial);
  useEffect(() => dispatch({ type: 'reset' }), [runId]);
  const onMessage = useCallback((message: SseMessage): boolean => {
    const parsed: unknown = JSON.parse(message.data);
    if (message.event === 'status') {
      const status = parsed as RunStatusEvent;
      dispatch({ type: 'status', data: status });
      return status.final;
    }
    if (message.event === 'progress') dispatch({ type: 'progress', data: parsed as RunProgressEvent });
    else if (message.event === 'delivery') dispatch({ type: 'delivery', data: parsed as RunDeliveryEvent });
    return false;
  }, []);
  const stream = useEventStream(`/api/v1/runs/${encodeURIComponent(runId)}/events`, onMessage);
  return { ...data, ...stream };
}

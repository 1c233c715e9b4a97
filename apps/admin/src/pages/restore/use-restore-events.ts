import { useCallback, useEffect, useReducer } from 'react';
import type { Schemas } from '../../api/client';
import type { SseMessage } from '../runs/sse';
import { useEventStream } from '../runs/use-event-stream';

export type RestoreStatusEvent = Schemas['RestoreStatusEvent'];
export type RestoreProgressEvent = Schemas['RestoreProgressEvent'];
export type RestoreSectionEvent = Schemas['RestoreSectionState'];

export interface LiveRestore {
  status?: RestoreStatusEvent;
  progress?: RestoreProgressEvent;
  /** By section name, in the order they first arrived. */
  sections: RestoreSectionEvent[];
  streaming: boolean;
  /** The stream could not be opened or broke: the page polls GET /restores/:id meanwhile. */
  fallback: boolean;
}

type Data = Omit<LiveRestore, 'streaming' | 'fallback'>;
type Action = { type: 'status'; data: RestoreStatusEvent } | { type: 'progress'; data: RestoreProgressEvent } | { type: 'section'; data: RestoreSectionEvent } | { type: 'reset' };

const initial: Data = { sections: [] };

function reduce(state: Data, action: Action): Data {
  switch (action.type) {
    case 'status':
      return { ...state, status: action.data };
    case 'progress':
      return { ...state, progress: action.data };
    case 'section': {
      const i = state.sections.findIndex((s) => s.name === action.data.name);
      return { ...state, sections: i < 0 ? [...state.sections, action.data] : state.sections.map((s, j) => (j === i ? action.data : s)) };
    }
    case 'reset':
      return initial;
  }
}

/** A restore live, from GET /api/v1/restores/:id/events (useEventStream); it ends after the final status. */
export function useRestoreEvents(id: string): LiveRestore {
  const [data, dispatch] = useReducer(reduce, initial);
  useEffect(() => dispatch({ type: 'reset' }), [id]);
  const onMessage = useCallback((message: SseMessage): boolean => {
    const parsed: unknown = JSON.parse(message.data);
    if (message.event === 'status') {
      const status = parsed as RestoreStatusEvent;
      dispatch({ type: 'status', data: status });
      return status.final;
    }
    if (message.event === 'progress') dispatch({ type: 'progress', data: parsed as RestoreProgressEvent });
    else if (message.event === 'section') dispatch({ type: 'section', data: parsed as RestoreSectionEvent });
    return false;
  }, []);
  const stream = useEventStream(`/api/v1/restores/${encodeURIComponent(id)}/events`, onMessage);
  return { ...data, ...stream };
}

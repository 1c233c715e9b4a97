import type { Schemas } from '../../api/client';
import { useLiveEvents, type EventStreamState } from '../runs/use-event-stream';

export type RestoreStatusEvent = Schemas['RestoreStatusEvent'];
export type RestoreProgressEvent = Schemas['RestoreProgressEvent'];
export type RestoreSectionEvent = Schemas['RestoreSectionState'];

export interface LiveRestore extends EventStreamState {
  status?: RestoreStatusEvent;
  progress?: RestoreProgressEvent;
  /** By section name, in the order they first arrived. */
  sections: RestoreSectionEvent[];
}

const sectionName = (s: RestoreSectionEvent) => s.name ?? '';

/** A restore live, from GET /api/v1/restores/:id/events; it ends after the final status. */
export function useRestoreEvents(id: string): LiveRestore {
  const { items, ...live } = useLiveEvents<RestoreStatusEvent, RestoreProgressEvent, RestoreSectionEvent>(`/api/v1/restores/${encodeURIComponent(id)}/events`, 'section', sectionName);
  return { ...live, sections: items };
}

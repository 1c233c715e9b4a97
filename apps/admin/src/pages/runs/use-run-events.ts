import type { Schemas } from '../../api/client';
import { useLiveEvents, type EventStreamState } from './use-event-stream';

export type RunStatusEvent = Schemas['RunStatusEvent'];
export type RunProgressEvent = Schemas['RunProgressEvent'];
export type RunDeliveryEvent = Schemas['RunDeliveryEvent'];

export interface LiveRun extends EventStreamState {
  status?: RunStatusEvent;
  progress?: RunProgressEvent;
  /** By delivery id, in the order they first arrived (the run's destination order). */
  deliveries: RunDeliveryEvent[];
}

const deliveryId = (d: RunDeliveryEvent) => d.id;

/** A run live, from GET /api/v1/runs/:id/events; it ends after the final status. */
export function useRunEvents(runId: string): LiveRun {
  const { items, ...live } = useLiveEvents<RunStatusEvent, RunProgressEvent, RunDeliveryEvent>(`/api/v1/runs/${encodeURIComponent(runId)}/events`, 'delivery', deliveryId);
  return { ...live, deliveries: items };
}

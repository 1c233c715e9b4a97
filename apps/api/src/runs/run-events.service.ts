import { isFinalRunStatus } from '@pbx/contracts';
import { notFound } from '../common/ids';
import type { ChangeHub } from '../live/change-hub';
import { EVENT_STREAM_DEFAULTS, openEventStream, type EventSink, type EventStreamOptions } from '../live/event-stream';
import { eventsOf } from './run-events';
import type { RunsQueryRepository } from './runs.query.repository';

export type RunEventSink = EventSink;
export type RunEventsOptions = EventStreamOptions;
export const RUN_EVENTS_DEFAULTS: RunEventsOptions = EVENT_STREAM_DEFAULTS;

/**
 * Live run state for the admin UI: the current snapshot first, then each change as
 * RunLifecycle's NOTIFY reports it, and the end after the final status. Progress comes from
 * the throttled writes of the packer and the dispatcher, so this only reads Postgres.
 */
export class RunEventsService {
  constructor(
    private readonly repository: Pick<RunsQueryRepository, 'findById' | 'deliveriesOf'>,
    private readonly hub: Pick<ChangeHub, 'watch'>,
    private readonly options: RunEventsOptions = RUN_EVENTS_DEFAULTS,
  ) {}

  /** 404 (before anything is sent) for an unknown run; otherwise streams until final or closed. */
  async stream(runId: string, sink: RunEventSink): Promise<void> {
    if (!(await this.repository.findById(runId))) throw notFound('run');
    const load = async () => {
      const run = await this.repository.findById(runId);
      return run ? { run, deliveries: await this.repository.deliveriesOf([runId]) } : null;
    };
    openEventStream(runId, sink, { load, eventsOf: (s) => eventsOf(s.run, s.deliveries), isFinal: (s) => isFinalRunStatus(s.run.status) }, this.hub, this.options);
  }
}

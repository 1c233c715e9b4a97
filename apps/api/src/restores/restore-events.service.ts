import type { RestoresRepository } from '@pbx/persistence';
import { notFound } from '../common/ids';
import { ChangeHub } from '../live/change-hub';
import { EVENT_STREAM_DEFAULTS, openEventStream, type EventSink, type EventStreamOptions } from '../live/event-stream';
import { isFinalRestore, restoreEventsOf } from './restore-events';

/**
 * Live restore state for the admin UI: the current snapshot first, then each change as
 * RestoresRepository's NOTIFY reports it (the packer's throttled progress writes), and the
 * end after the final status.
 */
export class RestoreEventsService {
  constructor(
    private readonly repository: Pick<RestoresRepository, 'find'>,
    private readonly hub: Pick<ChangeHub, 'watch'>,
    private readonly options: EventStreamOptions = EVENT_STREAM_DEFAULTS,
  ) {}

  /** 404 (before anything is sent) for an unknown restore; otherwise streams until final or closed. */
  async stream(id: string, sink: EventSink): Promise<void> {
    if (!(await this.repository.find(id))) throw notFound('restore');
    openEventStream(id, sink, { load: () => this.repository.find(id), eventsOf: restoreEventsOf, isFinal: isFinalRestore }, this.hub, this.options);
  }
}

/** The LISTEN on RestoresRepository's channel (restoreEventsChannel): its writes NOTIFY the restore id. */
export class RestoreEventsHub extends ChangeHub {}

import type { Logger } from '@pbx/observability';
import { ChangeHub } from '../live/change-hub';

export type { Watcher } from '../live/change-hub';

/** The LISTEN on RunLifecycle's channel (runEventsChannel): its writes NOTIFY the run id. */
export class RunEventsHub extends ChangeHub {
  constructor(options: { databaseUrl: string; channel: string }, logger: Logger) {
    super({ ...options, applicationName: 'pbx-backup-api-run-events' }, logger);
  }
}

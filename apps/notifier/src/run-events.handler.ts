import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { MESSAGES, type Envelope, type PayloadOf, type TypesOf } from '@pbx/contracts';
import { PermanentMessageError } from '@pbx/messaging';
import { ReportService } from './report.service';

type NotifierEvent = TypesOf<'notifier.events.v1'>;

/** Re-checks the payload (the consumer validated it already; a handler may be called from elsewhere too). */
function payloadOf<T extends NotifierEvent>(type: T, envelope: Envelope): PayloadOf<T> {
  if (envelope.type !== type) throw new PermanentMessageError(`expected ${type}, got ${envelope.type}`);
  const parsed = MESSAGES[type].payload.safeParse(envelope.payload);
  if (!parsed.success) throw new PermanentMessageError(`invalid payload of ${type}: ${parsed.error.message}`);
  return parsed.data as PayloadOf<T>;
}

/** The notifier's consumers: run outcomes become reports. A thrown error is retried (SMTP down) unless permanent. */
@Controller()
export class RunEventsHandler {
  constructor(private readonly reports: ReportService) {}

  @EventPattern('backup.failed')
  async backupFailed(@Payload() envelope: Envelope): Promise<void> {
    const p = payloadOf('backup.failed', envelope);
    await this.reports.reportFailure({ kind: 'backup', runId: p.runId, status: p.status, step: p.step, error: p.error });
  }

  @EventPattern('archive.failed')
  async archiveFailed(@Payload() envelope: Envelope): Promise<void> {
    const p = payloadOf('archive.failed', envelope);
    await this.reports.reportFailure({ kind: 'archive', runId: p.runId, status: 'failed', step: p.step, error: p.error });
  }

  @EventPattern('backup.succeeded')
  async backupSucceeded(@Payload() envelope: Envelope): Promise<void> {
    const p = payloadOf('backup.succeeded', envelope);
    await this.reports.reportSuccess({ kind: 'backup', runId: p.runId });
  }

  @EventPattern('archive.succeeded')
  async archiveSucceeded(@Payload() envelope: Envelope): Promise<void> {
    const p = payloadOf('archive.succeeded', envelope);
    await this.reports.reportSuccess({ kind: 'archive', runId: p.runId });
  }

  @EventPattern('restore.succeeded')
  async restoreSucceeded(@Payload() envelope: Envelope): Promise<void> {
    await this.reports.reportRestore(payloadOf('restore.succeeded', envelope).restoreId);
  }

  @EventPattern('restore.failed')
  async restoreFailed(@Payload() envelope: Envelope): Promise<void> {
    await this.reports.reportRestore(payloadOf('restore.failed', envelope).restoreId);
  }

  @EventPattern('run.cancelled')
  async runCancelled(@Payload() envelope: Envelope): Promise<void> {
    await this.reports.noteCancelled(payloadOf('run.cancelled', envelope));
  }

  @EventPattern('run.verified')
  async runVerified(@Payload() envelope: Envelope): Promise<void> {
    await this.reports.reportVerification(envelope.messageId, payloadOf('run.verified', envelope));
  }
}

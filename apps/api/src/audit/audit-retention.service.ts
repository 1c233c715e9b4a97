import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Logger } from '@pbx/observability';
import type { AuditService } from '@pbx/ops';

const EVERY_MS = 60 * 60 * 1000;

/** Prunes the audit trail hourly (and at boot). Several api replicas pruning is harmless. */
export class AuditRetentionService implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly audit: AuditService,
    private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const pass = () =>
      this.audit.prune().then(
        (n) => n && this.logger.info({ deleted: n }, 'audit events past retention deleted'),
        (err: Error) => this.logger.warn({ error: { message: err.message } }, 'audit retention pass failed'),
      );
    void pass();
    this.timer = setInterval(pass, EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}

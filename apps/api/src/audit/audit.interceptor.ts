import { HttpException, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { DomainError } from '@pbx/contracts';
import { STATUS_OF } from '../common/problem-details';
import { AuditService } from '@pbx/ops';
import { actorOf } from './request-audit';
import { AUDITED, type AuditedSpec } from './audited.decorator';

function statusOf(err: unknown): number {
  if (err instanceof DomainError) return STATUS_OF[err.code] ?? 500;
  if (err instanceof HttpException) return err.getStatus();
  return 500;
}

/**
 * Records each call of an `@Audited` route once it has an outcome: ok, refused (the request
 * was turned down: 4xx) or failed (5xx). The answer waits for the record, so a client that
 * saw the answer can find the event.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = this.reflector.get<AuditedSpec | undefined>(AUDITED, context.getHandler());
    if (!spec) return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    return from(this.run(req, spec, next));
  }

  private async run(req: Request, spec: AuditedSpec, next: CallHandler): Promise<unknown> {
    const actor = actorOf(req);
    let result: unknown;
    try {
      result = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (err) {
      const status = statusOf(err);
      const code = err instanceof DomainError ? err.code : `http_${status}`;
      await this.audit.record(actor, {
        action: spec.action,
        targetType: spec.targetType,
        targetId: spec.targetFromRequest(req),
        outcome: status < 500 ? 'refused' : 'failed',
        detail: { status, code },
      });
      throw err;
    }
    const targetId = spec.targetFromRequest(req) ?? spec.targetFromResult?.(result) ?? null;
    await this.audit.record(actor, { action: spec.action, targetType: spec.targetType, targetId, outcome: 'ok', detail: spec.detailFromResult?.(result) });
    for (const implied of spec.implied?.(result) ?? []) await this.audit.record(actor, { ...implied, outcome: 'ok' });
    return result;
  }
}

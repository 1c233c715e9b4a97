import { SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { AuditAction, AuditTargetType } from '@pbx/contracts';

export const AUDITED = 'pbx:audited';

/** A further event one audited request implies (e.g. a run started by "save and run"). */
export interface ImpliedAuditEvent {
  action: AuditAction;
  targetType: AuditTargetType;
  targetId: string | null;
  detail?: AuditDetail;
}

export type AuditDetail = Record<string, string | number | boolean | null>;

export interface AuditedSpec {
  action: AuditAction;
  targetType: AuditTargetType;
  /** The target as the request names it (null on create: the id comes with the result). */
  targetFromRequest(req: Request): string | null;
  /** The target as the result names it, when the request does not. */
  targetFromResult?(result: unknown): string | null;
  /** Plain facts from a successful result (a count, the id of a run started). */
  detailFromResult?(result: unknown): AuditDetail | undefined;
  implied?(result: unknown): ImpliedAuditEvent[];
}

export interface AuditedOptions {
  /** Route parameter holding the target id (default `id`; null: none). */
  param?: string | null;
  targetFromResult?: AuditedSpec['targetFromResult'];
  detailFromResult?: AuditedSpec['detailFromResult'];
  implied?: AuditedSpec['implied'];
}

/**
 * Records every call of the route in the audit trail with its outcome (AuditInterceptor), and
 * every refusal by role (AccessGuard).
 */
export function Audited(action: AuditAction, targetType: AuditTargetType, options: AuditedOptions = {}): MethodDecorator {
  const param = options.param === undefined ? 'id' : options.param;
  const spec: AuditedSpec = {
    action,
    targetType,
    targetFromRequest: (req) => {
      const value = param ? (req.params as Record<string, string | undefined>)[param] : undefined;
      return typeof value === 'string' ? value.slice(0, 128) : null;
    },
    targetFromResult: options.targetFromResult,
    detailFromResult: options.detailFromResult,
    implied: options.implied,
  };
  return SetMetadata(AUDITED, spec);
}

import type { Request } from 'express';
import type { AuditOutcome } from '@pbx/contracts';
import type { AuditActor, AuditService, Principal } from '@pbx/ops';
import type { HostKeyPinListener } from '../configurations/host-key-pinning';
import type { AuditDetail, AuditedSpec } from './audited.decorator';
import { currentRequest } from './request-context';

export function actorOf(req: (Request & { principal?: Principal }) | undefined): AuditActor {
  const p = req?.principal;
  return { tokenId: p?.tokenId ?? null, tokenName: p?.name ?? 'anonymous', clientAddress: req?.ip ?? null };
}

/** Records an audited route's call from its request (actor, address) and spec. */
export function recordRequest(audit: AuditService, req: Request, spec: AuditedSpec, event: { outcome: AuditOutcome; targetId: string | null; detail?: AuditDetail }): Promise<void> {
  return audit.record(actorOf(req), { action: spec.action, targetType: spec.targetType, ...event });
}

/** Host keys pinned on first use become audit events of the request that saved them. */
export function hostKeyPinsToAudit(audit: AuditService): HostKeyPinListener {
  return {
    hostKeyPinned: (e) =>
      audit.record(actorOf(currentRequest()), {
        action: 'destination.host-key-pin',
        targetType: 'destination',
        targetId: e.destinationId,
        outcome: 'ok',
        detail: { configurationId: e.configurationId, host: e.host, port: e.port, fingerprint: e.fingerprint },
      }),
  };
}

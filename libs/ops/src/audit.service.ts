import type { AuditAction, AuditOutcome, AuditTargetType } from '@pbx/contracts';
import type { Logger } from '@pbx/observability';
import { AuditRepository, type AuditFilter } from './audit.repository';
import { offsetOf, pageOf, type Page } from './pagination';

type Detail = Record<string, string | number | boolean | null>;

/** Who did it: a token, the ops CLI, or nobody known (refused before authentication). */
export interface AuditActor {
  tokenId: string | null;
  tokenName: string;
  clientAddress: string | null;
}

export interface AuditEventInput {
  action: AuditAction;
  targetType: AuditTargetType;
  targetId: string | null;
  outcome: AuditOutcome;
  detail?: Detail;
}

export interface AuditEventResponse {
  id: string;
  at: string;
  tokenId: string | null;
  tokenName: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  clientAddress: string | null;
  detail: Detail | null;
}

const PRUNE_BATCH = 5_000;

/**
 * The audit trail: every change and every access to PBX data, with who, what, on which
 * target, the outcome and from where. Never a secret: callers pass ids and plain facts only.
 */
export class AuditService {
  constructor(
    private readonly repository: AuditRepository,
    private readonly logger: Logger,
    private readonly retentionDays: number,
  ) {}

  /**
   * Records one event. A failure to record is logged, not thrown: the action itself has
   * already happened (or been refused) and its answer must not change.
   */
  async record(actor: AuditActor, event: AuditEventInput): Promise<void> {
    try {
      await this.repository.insert({
        tokenId: actor.tokenId,
        tokenName: actor.tokenName.slice(0, 64),
        action: event.action,
        targetType: event.targetType,
        targetId: event.targetId,
        outcome: event.outcome,
        clientAddress: actor.clientAddress?.slice(0, 64) ?? null,
        detail: event.detail ?? null,
      });
    } catch (err) {
      this.logger.error({ error: { message: (err as Error).message }, audit: { ...event, tokenName: actor.tokenName } }, 'audit event not recorded');
    }
  }

  async list(filter: AuditFilter, paging: { page: number; limit: number }): Promise<Page<AuditEventResponse>> {
    const [rows, total] = await this.repository.list(filter, offsetOf(paging), paging.limit);
    return pageOf(
      rows.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        tokenId: r.tokenId,
        tokenName: r.tokenName,
        action: r.action,
        targetType: r.targetType,
        targetId: r.targetId,
        outcome: r.outcome,
        clientAddress: r.clientAddress,
        detail: r.detail,
      })),
      total,
      paging,
    );
  }

  /** Deletes events older than AUDIT_RETENTION_DAYS, in batches; returns how many. */
  async prune(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.retentionDays * 86_400_000);
    let total = 0;
    for (;;) {
      const n = await this.repository.deleteOlderThan(cutoff, PRUNE_BATCH);
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }
}

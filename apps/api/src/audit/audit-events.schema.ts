import { z } from 'zod';
import { AUDIT_ACTIONS } from '@pbx/contracts';
import { paginationShape } from '../common/validation';

const instant = z.iso.datetime({ offset: true }).transform((v) => new Date(v));

/** GET /api/v1/audit-events query: `action`, `targetId`, `from` (inclusive), `to` (exclusive), paging. */
export const auditEventsQuerySchema = z.strictObject({
  action: z.enum(AUDIT_ACTIONS).optional(),
  targetId: z.string().min(1).max(128).optional(),
  from: instant.optional(),
  to: instant.optional(),
  ...paginationShape,
});

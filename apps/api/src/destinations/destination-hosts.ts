import { DomainError, ERROR_CODES, HOST_FIELD, isDestinationKind, type FieldError } from '@pbx/contracts';
import { HOST_NOT_ALLOWED, type HostAllowlist } from '@pbx/destinations';

/** The field naming the server a destination connects to (the contracts' HOST_FIELD). */
function hostField(d: Record<string, unknown>): { field: string; host: string } | undefined {
  const field = isDestinationKind(d.type) ? HOST_FIELD[d.type] : null;
  const host = field === null ? undefined : d[field];
  return field !== null && typeof host === 'string' ? { field, host } : undefined;
}

/**
 * Refuses (400, naming each field) destinations pointing outside DESTINATION_HOSTS_ALLOWED:
 * checked before anything connects, on save and on test. `at(i)` is the field prefix.
 */
export async function assertHostsAllowed(hosts: HostAllowlist, destinations: readonly Record<string, unknown>[], at: (i: number) => string): Promise<void> {
  if (hosts.unrestricted) return;
  const errors: FieldError[] = [];
  await Promise.all(
    destinations.map(async (d, i) => {
      const target = hostField(d);
      if (target && !(await hosts.permits(target.host))) errors.push({ field: at(i) ? `${at(i)}.${target.field}` : target.field, message: HOST_NOT_ALLOWED });
    }),
  );
  if (errors.length) throw new DomainError(ERROR_CODES.validation, 'Request validation failed', errors);
}

import { destinationHost, DomainError, ERROR_CODES, type FieldError } from '@pbx/contracts';
import { HOST_NOT_ALLOWED, type HostAllowlist } from '@pbx/destinations';

/**
 * Refuses (400, naming each field) destinations pointing outside DESTINATION_HOSTS_ALLOWED:
 * checked before anything connects, on save and on test. `at(i)` is the field prefix.
 */
export async function assertHostsAllowed(hosts: HostAllowlist, destinations: readonly Record<string, unknown>[], at: (i: number) => string): Promise<void> {
  if (hosts.unrestricted) return;
  // Looked up at once, listed in the request's order (not the order the lookups finish in).
  const errors = (
    await Promise.all(
      destinations.map(async (d, i): Promise<FieldError | undefined> => {
        const target = destinationHost(d);
        if (target && !(await hosts.permits(target.host))) return { field: at(i) ? `${at(i)}.${target.field}` : target.field, message: HOST_NOT_ALLOWED };
        return undefined;
      }),
    )
  ).filter((e): e is FieldError => e !== undefined);
  if (errors.length) throw new DomainError(ERROR_CODES.validation, 'Request validation failed', errors);
}

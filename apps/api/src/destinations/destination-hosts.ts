import { DomainError, ERROR_CODES, HOST_FIELD, isDestinationKind, type FieldError } from '@pbx/contracts';
import { HOST_NOT_ALLOWED, type HostAllowlist } from '@pbx/destinations';

/** The field naming the server a destination connects to (the contracts' HOST_FIELD). */
function hostField(d: Record<string, unknown>): { field: string; host: string } | undefined {
  const field = isDestinationKind(d.type) ? HOST_FIELD[d.type] : null;
  const value = field === null ? undefined : d[field];
  const host = typeof value === 'string' ? hostOf(value) : undefined;
  return field !== null && host !== undefined ? { field, host } : undefined;
}

/** A host field holds a host, or a URL (s3's endpoint) whose host name is judged. */
function hostOf(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    return new URL(value).hostname || undefined;
  } catch {
    return undefined;
  }
}

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
        const target = hostField(d);
        if (target && !(await hosts.permits(target.host))) return { field: at(i) ? `${at(i)}.${target.field}` : target.field, message: HOST_NOT_ALLOWED };
        return undefined;
      }),
    )
  ).filter((e): e is FieldError => e !== undefined);
  if (errors.length) throw new DomainError(ERROR_CODES.validation, 'Request validation failed', errors);
}

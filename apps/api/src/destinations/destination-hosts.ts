import { DomainError, ERROR_CODES, type FieldError } from '@pbx/contracts';
import { HOST_NOT_ALLOWED, type HostAllowlist } from '@pbx/destinations';

/** The field naming the server a destination connects to (SFTP `host`, SMB `server`). */
function hostField(d: Record<string, unknown>): { field: string; host: string } | undefined {
  if (d.type === 'sftp' && typeof d.host === 'string') return { field: 'host', host: d.host };
  if (d.type === 'smb' && typeof d.server === 'string') return { field: 'server', host: d.server };
  return undefined;
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

/**
 * Who may do what: the token roles, the permissions routes ask for, and the one table that
 * joins them (docs/security.md). The api's guard, the ops CLI and the admin UI all read it.
 */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'configurations.read',
  'configurations.write',
  'runs.read',
  'runs.start',
  'runs.download',
  // Cancel a run that is not final yet (POST /runs/:id/cancel).
  'runs.cancel',
  // Read the stored copies of a run back from their destinations (POST /runs/:id/verify).
  'runs.verify',
  // Restores: uploading an archive and starting a restore (PBX data written back), reading their state.
  'restores.start',
  'restores.read',
  'dead-letters.read',
  'dead-letters.manage',
  'destinations.test',
  'audit.read',
  // Who am I: the token's own name, role and permissions (the admin UI shows only what it may do).
  'session.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: readonly Permission[] = ['session.read', 'configurations.read', 'runs.read'];
const OPERATE: readonly Permission[] = [...READ, 'runs.start', 'runs.cancel', 'runs.download', 'runs.verify', 'restores.start', 'restores.read', 'dead-letters.read', 'dead-letters.manage'];

/** admin: everything; operator: read, start runs, download, dead letters; viewer: read only. */
export const ROLE_PERMISSIONS = {
  admin: PERMISSIONS,
  operator: OPERATE,
  viewer: READ,
} as const satisfies Record<Role, readonly Permission[]>;

export function roleAllows(role: Role, permission: Permission): boolean {
  return (ROLE_PERMISSIONS[role] as readonly Permission[]).includes(permission);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** What the audit trail records (docs/security.md): every change and every access to PBX data. */
export const AUDIT_ACTIONS = [
  'configuration.create',
  'configuration.update',
  'configuration.delete',
  'destination.add',
  'destination.remove',
  'destination.test',
  'destination.host-key-pin',
  'run.start',
  'run.cancel',
  'run.download',
  'run.verify',
  'restore.start',
  'upload.create',
  'upload.write',
  'dead-letter.replay',
  'dead-letter.discard',
  'token.create',
  'token.revoke',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['ok', 'refused', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const AUDIT_TARGET_TYPES = ['configuration', 'destination', 'run', 'restore', 'upload', 'dead-letter', 'token'] as const;
export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

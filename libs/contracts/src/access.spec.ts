import { isRole, PERMISSIONS, ROLE_PERMISSIONS, roleAllows, ROLES } from './access';

describe('roles and permissions', () => {
  it('admin may do everything; operator runs and downloads but never changes configurations; viewer only reads', () => {
    expect(PERMISSIONS.every((p) => roleAllows('admin', p))).toBe(true);
    expect(ROLE_PERMISSIONS.operator).toEqual(expect.arrayContaining(['runs.start', 'runs.download', 'dead-letters.manage']));
    expect(roleAllows('operator', 'configurations.write')).toBe(false);
    expect(roleAllows('operator', 'audit.read')).toBe(false);
    expect(roleAllows('operator', 'destinations.test')).toBe(false);
    expect([...ROLE_PERMISSIONS.viewer].sort()).toEqual(['configurations.read', 'runs.read', 'session.read']);
  });

  it('knows its roles and nothing else', () => {
    expect(ROLES.every(isRole)).toBe(true);
    for (const v of ['root', 'Admin', '', null, 1]) expect(isRole(v)).toBe(false);
  });
});

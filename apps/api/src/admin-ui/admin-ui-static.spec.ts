import { ADMIN_UI_ROUTE } from './admin-ui-static';

describe('ADMIN_UI_ROUTE: which paths get the admin UI index.html', () => {
  it.each(['/', '/backups', '/backups/', '/backups/new', '/backups/0b7c1e62-7c8e-4d7e-9a43-4c1d2b9a0f11/edit', '/runs/ABC-def', '/dead-letters', '/apis', '/apiary/x'])('%s is a UI route', (path) => {
    expect(ADMIN_UI_ROUTE.test(path)).toBe(true);
  });

  // Every spelling of an api path falls through to the api's problem+json 404 (security.e2e-spec).
  it.each(['/api', '/api/', '/api/v1/nope', '/API/v1/runs', '/Api/v1/runs', '/%61pi/v1/runs', '//api/v1/runs', '/api//v1', '/Backups', '/backups/../api', '/backups/a.b', '/backups//x', '/backups/%2e%2e'])('%s is not', (path) => {
    expect(ADMIN_UI_ROUTE.test(path)).toBe(false);
  });
});

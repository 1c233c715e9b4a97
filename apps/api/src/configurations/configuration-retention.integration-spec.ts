import request from 'supertest';
import { RunEntity } from '@pbx/persistence';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';

const V1 = '/api/v1';

describe('backup configurations: retention rules and upload windows (real Postgres, in-process api)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('rtn');
  });
  afterAll(() => api.close());

  const auth = (r: request.Test) => r.set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  it('stores keepDaily/keepWeekly/keepMonthly/maxAgeDays and uploadWindows, GET returns them, PATCH null clears a rule, the run snapshot carries them', async () => {
    const rules = { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, maxAgeDays: 365, uploadWindows: [{ from: '22:00', to: '06:00' }] };
    const created = await auth(request(api.base).post(`${V1}/backup-configurations`)).send(configurationBody(uniqueName('Retention'), { ...rules, timezone: 'Europe/Berlin', action: 'saveAndRun' }));
    expect(created.status).toBe(201);
    const id = created.body.configuration.id;
    const read = await auth(request(api.base).get(`${V1}/backup-configurations/${id}`));
    expect(read.body).toMatchObject(rules);

    const run = await api.ds.manager.findOneByOrFail(RunEntity, { configurationId: id });
    expect(run.snapshot).toMatchObject({ ...rules, timezone: 'Europe/Berlin' });

    const patched = await auth(request(api.base).patch(`${V1}/backup-configurations/${id}`)).send({ keepDaily: null, uploadWindows: [] });
    expect(patched.status).toBe(200);
    const after = await auth(request(api.base).get(`${V1}/backup-configurations/${id}`));
    expect(after.body).toMatchObject({ keepLast: 3, keepDaily: null, keepWeekly: 4, keepMonthly: 12, maxAgeDays: 365, uploadWindows: [] });

    const plain = await auth(request(api.base).post(`${V1}/backup-configurations`)).send(configurationBody(uniqueName('No rules')));
    expect(plain.body.configuration).toMatchObject({ keepDaily: null, keepWeekly: null, keepMonthly: null, maxAgeDays: null, uploadWindows: [] });

    const bad = await auth(request(api.base).post(`${V1}/backup-configurations`)).send(configurationBody(uniqueName('Bad'), { keepWeekly: 0, uploadWindows: [{ from: '25:00', to: '06:00' }] }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('keepWeekly');
    expect(JSON.stringify(bad.body)).toContain('uploadWindows[0].from');
  });

  it('archive configurations refuse them (backup only)', async () => {
    const res = await auth(request(api.base).post(`${V1}/archive-configurations`)).send({
      name: uniqueName('Archive'), reportTo: 'ops@example.com', interval: 'daily', items: { cdr: { enabled: true, daysToKeep: 30 } }, destinations: [{ type: 'local' }], keepDaily: 3,
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('keepDaily');
  });
});

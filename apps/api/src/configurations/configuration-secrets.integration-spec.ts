import request from 'supertest';
import { DestinationEntity } from '@pbx/persistence';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';

describe('sealed destination secrets of a deleted configuration (real Postgres + RabbitMQ, in-process)', () => {
  let testApi: TestApi;

  beforeAll(async () => {
    testApi = await startTestApi('sec');
  });
  afterAll(async () => {
    await testApi?.close();
  });

  const api = (method: 'post' | 'delete', path: string) => request(testApi.base)[method](path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const create = async () => {
    const res = await api('post', '/api/v1/backup-configurations').send({
      name: uniqueName('Sec'), reportTo: 'ops@example.com', interval: 'manual', data: { coreData: true, cdrAndVoicemails: false, announcements: false },
      destinations: [{ type: 'smb', server: 'nas.local', share: 'backup', username: 'u', password: 'hunter2-smb', security: 'ntlmv2' }],
      action: 'save',
    });
    expect(res.status).toBe(201);
    return res.body.configuration.id as string;
  };
  const secretsOf = async (configurationId: string) => (await testApi.ds.manager.findBy(DestinationEntity, { configurationId })).map((d) => d.secrets);

  it('erases them at deletion; other configurations keep theirs', async () => {
    const doomed = await create();
    const kept = await create();
    expect(await secretsOf(doomed)).toEqual([{ password: expect.any(String) }]);
    expect((await api('delete', `/api/v1/backup-configurations/${doomed}`)).status).toBe(204);
    expect(await secretsOf(doomed)).toEqual([{}]);
    expect(await secretsOf(kept)).toEqual([{ password: expect.any(String) }]);
  });
});

import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createLogger } from '@pbx/observability';
import { DestinationEntity } from '@pbx/persistence';
import { amqpNamespace, deleteAmqpNamespace, migratedDatabase, tempDir, testEnv, uniqueName } from '@pbx/testing';
import { createApiApp } from '../api-app';

const ADMIN = `admin-${randomUUID()}`;

describe('sealed destination secrets of a deleted configuration (real Postgres + RabbitMQ, in-process)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let ns: string;
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    db = await migratedDatabase('sec');
    ns = amqpNamespace();
    dirs = await tempDir('pbx-sec-');
    const env = testEnv({ DATABASE_SCHEMA: db.schema, AMQP_NAMESPACE: ns, ADMIN_API_TOKEN: ADMIN, SECRETS_KEY: 'c3'.repeat(32), ARTIFACT_DIR: dirs.path, LOCAL_BACKUP_ROOT: dirs.path });
    app = await createApiApp(env, createLogger({ service: 'api', level: 'silent' }));
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await deleteAmqpNamespace(ns);
    await db?.close();
    await dirs?.remove();
  });

  const api = (method: 'post' | 'delete', path: string) => request(base)[method](path).set('Authorization', `Bearer ${ADMIN}`);
  const create = async () => {
    const res = await api('post', '/api/v1/backup-configurations').send({
      name: uniqueName('Sec'), reportTo: 'ops@example.com', interval: 'manual', data: { coreData: true, cdrAndVoicemails: false, announcements: false },
      destinations: [{ type: 'smb', server: 'nas.local', share: 'backup', username: 'u', password: 'hunter2-smb', security: 'ntlmv2' }],
      action: 'save',
    });
    expect(res.status).toBe(201);
    return res.body.configuration.id as string;
  };
  const secretsOf = async (configurationId: string) => (await db.dataSource.manager.findBy(DestinationEntity, { configurationId })).map((d) => d.secrets);

  it('erases them at deletion; other configurations keep theirs', async () => {
    const doomed = await create();
    const kept = await create();
    expect(await secretsOf(doomed)).toEqual([{ password: expect.any(String) }]);
    expect((await api('delete', `/api/v1/backup-configurations/${doomed}`)).status).toBe(204);
    expect(await secretsOf(doomed)).toEqual([{}]);
    expect(await secretsOf(kept)).toEqual([{ password: expect.any(String) }]);
  });
});

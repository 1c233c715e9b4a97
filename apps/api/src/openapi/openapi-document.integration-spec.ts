import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createLogger } from '@pbx/observability';
import { amqpNamespace, deleteAmqpNamespace, migratedDatabase, testEnv } from '@pbx/testing';
import { createApiApp } from '../api-app';

/**
 * The public contract, pinned: apps/api/openapi.json is the document the api serves. A change
 * to any route, schema or permission shows up as a diff of that file in review (and the admin
 * UI's types are generated from it). After a deliberate change:
 *   UPDATE_OPENAPI=1 npx jest --selectProjects integration --testPathPatterns openapi-document
 */
const COMMITTED = join(__dirname, '..', '..', 'openapi.json');

describe('the OpenAPI document', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  let ns: string;
  let app: INestApplication;

  beforeAll(async () => {
    db = await migratedDatabase('openapi');
    ns = amqpNamespace();
    const env = testEnv({ DATABASE_SCHEMA: db.schema, AMQP_NAMESPACE: ns, ADMIN_API_TOKEN: 'openapi-document-test-token', DEFAULT_TIMEZONE: 'Europe/Berlin' });
    app = await createApiApp(env, createLogger({ service: 'api', level: 'silent' }));
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await deleteAmqpNamespace(ns);
    await db?.close();
  });

  it('is exactly the committed apps/api/openapi.json', async () => {
    const served = (await request((await app.getUrl()).replace('[::1]', '127.0.0.1')).get('/api/docs-json')).body as unknown;
    const text = `${JSON.stringify(served, null, 2)}\n`;
    if (process.env.UPDATE_OPENAPI === '1') await writeFile(COMMITTED, text);
    const committed = JSON.parse(await readFile(COMMITTED, 'utf8')) as unknown;
    expect(served).toEqual(committed);
  });
});

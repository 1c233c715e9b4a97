import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { startTestApi, type TestApi } from '../api.test-helper';

/**
 * The public contract, pinned: apps/api/openapi.json is the document the api serves. A change
 * to any route, schema or permission shows up as a diff of that file in review (and the admin
 * UI's types are generated from it). After a deliberate change:
 *   UPDATE_OPENAPI=1 npx jest --selectProjects integration --testPathPatterns openapi-document
 */
const COMMITTED = join(__dirname, '..', '..', 'openapi.json');

describe('the OpenAPI document', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi('openapi');
  });

  afterAll(async () => {
    await api?.close();
  });

  it('is exactly the committed apps/api/openapi.json', async () => {
    const served = (await request(api.base).get('/api/docs-json')).body as unknown;
    const text = `${JSON.stringify(served, null, 2)}\n`;
    if (process.env.UPDATE_OPENAPI === '1') await writeFile(COMMITTED, text);
    const committed = JSON.parse(await readFile(COMMITTED, 'utf8')) as unknown;
    expect(served).toEqual(committed);
  });
});

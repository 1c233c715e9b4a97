import { randomUUID } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';

const V1 = '/api/v1';

describe('GET /backup-configurations/:id/destinations/:destId/backups (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('stc');
  });
  afterAll(() => api.close());

  const auth = (t: request.Test) => t.set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  it('lists the .sar/.sar.age files in the destination folder with size and time, marking the ones a delivery wrote', async () => {
    const name = uniqueName('Stored');
    const created = await auth(request(api.base).post(`${V1}/backup-configurations`)).send(configurationBody(name, { destinations: [{ type: 'local', path: 'nas' }], action: 'saveAndRun' }));
    expect(created.status).toBe(201);
    const configurationId = created.body.configuration.id as string;
    const destinationId = created.body.configuration.destinations[0].id as string;
    const url = `${V1}/backup-configurations/${configurationId}/destinations/${destinationId}/backups`;

    // Nothing there yet: an empty list, not an error.
    expect((await auth(request(api.base).get(url))).body).toEqual({ items: [] });

    const folder = join(api.dir, 'backups', 'nas', 'starface-backup', name);
    await mkdir(folder, { recursive: true });
    const ours = `${name}_20261201-023000.sar`;
    await writeFile(join(folder, ours), Buffer.alloc(1234));
    await writeFile(join(folder, `${name}_20261101-023000.sar.age`), Buffer.alloc(10));
    await writeFile(join(folder, 'notes.txt'), 'not a backup');
    const at = new Date('2026-12-01T01:30:00Z');
    await utimes(join(folder, ours), at, at);
    const runId = created.body.run.id as string;
    await api.ds.query(`UPDATE runs SET artifact_file_name = $2 WHERE id = $1`, [runId, ours]);
    await api.ds.query(`INSERT INTO deliveries (run_id, destination_id, type, status, code) VALUES ($1, $2, 'local', 'succeeded', 'successful')`, [runId, destinationId]);

    const listed = await auth(request(api.base).get(url));
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([
      { file: `${name}_20261101-023000.sar.age`, size: 10, modifiedAt: expect.any(String), writtenByThisService: false },
      { file: ours, size: 1234, modifiedAt: at.toISOString(), writtenByThisService: true },
    ]);

    expect((await auth(request(api.base).get(`${V1}/backup-configurations/${configurationId}/destinations/${randomUUID()}/backups`))).status).toBe(404);
  });
});

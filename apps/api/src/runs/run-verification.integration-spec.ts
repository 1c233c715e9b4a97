import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';

const V1 = '/api/v1';

describe('POST /runs/:id/verify (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('rvf');
  });
  afterAll(() => api.close());

  const post = (path: string) => request(api.base).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const get = (path: string) => request(api.base).get(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  it('stores a backup configuration\'s verify settings (default: size after upload, no schedule) and refuses unknown values', async () => {
    const plain = await post(`${V1}/backup-configurations`).send(configurationBody(uniqueName('Verify default')));
    expect(plain.body.configuration.verify).toEqual({ afterUpload: 'size' });
    const chosen = await post(`${V1}/backup-configurations`).send(configurationBody(uniqueName('Verify sha'), { verify: { afterUpload: 'sha256', schedule: 'weekly' } }));
    expect(chosen.status).toBe(201);
    expect(chosen.body.configuration.verify).toEqual({ afterUpload: 'sha256', schedule: 'weekly' });
    const patched = await request(api.base).patch(`${V1}/backup-configurations/${chosen.body.configuration.id}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ verify: { afterUpload: 'size' } });
    expect(patched.body.verify ?? patched.body.configuration?.verify).toEqual({ afterUpload: 'size' });
    const bad = await post(`${V1}/backup-configurations`).send(configurationBody(uniqueName('Verify bad'), { verify: { afterUpload: 'md5' } }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('verify.afterUpload');
  });

  it('refuses a run with no delivered copy (409), queues backup.verify-requested for one that has (202), shows the result per delivery and audits run.verify', async () => {
    const created = await post(`${V1}/backup-configurations`).send(configurationBody(uniqueName('Verify'), { action: 'saveAndRun' }));
    expect(created.status).toBe(201);
    const runId = created.body.run.id as string;
    const destinationId = created.body.configuration.destinations[0].id as string;

    const early = await post(`${V1}/runs/${runId}/verify`);
    expect(early.status).toBe(409);
    expect((await post(`${V1}/runs/${randomUUID()}/verify`)).status).toBe(404);

    await api.ds.query(`UPDATE runs SET status = 'succeeded', packed_at = now(), artifact_file_name = 'x.sar', artifact_size = 1, artifact_sha256 = $2 WHERE id = $1`, [runId, 'a'.repeat(64)]);
    await api.ds.query(`INSERT INTO deliveries (run_id, destination_id, type, status, code, location) VALUES ($1, $2, 'local', 'succeeded', 'successful', 'starface-backup/x/x.sar')`, [runId, destinationId]);
    const accepted = await post(`${V1}/runs/${runId}/verify`);
    expect(accepted.status).toBe(202);
    expect(accepted.body.run.deliveries).toEqual([expect.objectContaining({ destinationId, verification: null })]);
    const requested = await api.ds.query(`SELECT payload FROM outbox WHERE type = 'backup.verify-requested' AND correlation_id = $1`, [runId]);
    expect(requested.map((r: { payload: unknown }) => r.payload)).toEqual([{ runId, reason: 'manual' }]);

    // What the dispatcher records: the run shows it.
    await api.ds.query(`UPDATE deliveries SET verification = 'mismatch', verified_at = now() WHERE run_id = $1`, [runId]);
    const run = await get(`${V1}/runs/${runId}`);
    expect(run.body.deliveries[0].verification).toEqual({ result: 'mismatch', at: expect.any(String) });

    const audit = await api.ds.query(`SELECT outcome FROM audit_events WHERE action = 'run.verify' AND target_id = $1 ORDER BY at`, [runId]);
    expect(audit.map((a: { outcome: string }) => a.outcome)).toEqual(['refused', 'ok']);
  });
});

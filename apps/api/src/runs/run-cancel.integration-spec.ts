import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';

const V1 = '/api/v1';

describe('POST /runs/:id/cancel (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('rcn');
  });
  afterAll(() => api.close());

  const post = (path: string) => request(api.base).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  async function newRun(name: string): Promise<{ runId: string; destinationId: string; configurationId: string }> {
    const created = await post(`${V1}/backup-configurations`).send(
      configurationBody(uniqueName(name), { action: 'saveAndRun', destinations: [{ type: 'local' }, { type: 'local', path: 'second' }, { type: 'local', path: 'third' }] }),
    );
    expect(created.status).toBe(201);
    return { runId: created.body.run.id, destinationId: created.body.configuration.destinations[0].id, configurationId: created.body.configuration.id };
  }
  const destinationsOf = async (configurationId: string): Promise<string[]> =>
    (await api.ds.query('SELECT id FROM destinations WHERE configuration_id = $1 ORDER BY created_at, id', [configurationId])).map((r: { id: string }) => r.id);
  const outboxOf = async (runId: string) => api.ds.query('SELECT type, payload FROM outbox WHERE correlation_id = $1 ORDER BY created_at', [runId]);

  it('a queued run: 202 with the run cancelled, run.cancelled written once, again 202 (idempotent), both audited', async () => {
    const { runId } = await newRun('Cancel queued');
    const res = await post(`${V1}/runs/${runId}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body.run).toMatchObject({ id: runId, status: 'cancelled', finishedAt: expect.any(String) });
    const again = await post(`${V1}/runs/${runId}/cancel`);
    expect(again.status).toBe(202);
    expect(again.body.run.status).toBe('cancelled');
    const cancelled = (await outboxOf(runId)).filter((r: { type: string }) => r.type === 'run.cancelled');
    expect(cancelled.map((r: { payload: unknown }) => r.payload)).toEqual([{ runId, kind: 'backup', previousStatus: 'queued' }]);
    const audit = await api.ds.query(`SELECT outcome FROM audit_events WHERE action = 'run.cancel' AND target_id = $1 ORDER BY at`, [runId]);
    expect(audit.map((a: { outcome: string }) => a.outcome)).toEqual(['ok', 'ok']);
  });

  it('a deferred run (waiting for the lock): its held-back due event is dropped and its deferral ends', async () => {
    const { runId } = await newRun('Cancel deferred');
    const until = new Date(Date.now() + 3_600_000);
    await api.ds.query(`UPDATE runs SET status = 'deferred', deferred_until = $2 WHERE id = $1`, [runId, until]);
    await api.ds.query(
      `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, available_at) VALUES ($1, 'backup.due', 1, 'backup.due.v1', $2, $3, $4)`,
      [randomUUID(), runId, JSON.stringify({ runId, kind: 'backup' }), until],
    );
    const res = await post(`${V1}/runs/${runId}/cancel`);
    expect(res.status).toBe(202);
    const [row] = await api.ds.query('SELECT status, deferred_until FROM runs WHERE id = $1', [runId]);
    expect(row).toEqual({ status: 'cancelled', deferred_until: null });
    const heldBack = await api.ds.query(`SELECT 1 FROM outbox WHERE correlation_id = $1 AND type = 'backup.due' AND available_at > now()`, [runId]);
    expect(heldBack).toEqual([]);
    expect((await outboxOf(runId)).find((r: { type: string }) => r.type === 'run.cancelled')?.payload).toEqual({ runId, kind: 'backup', previousStatus: 'deferred' });
  });

  it('a dispatching run: deliveries not started are cancelled (and their retry dropped), a running upload is left to its dispatcher, a delivered copy stays', async () => {
    const { runId, configurationId } = await newRun('Cancel dispatching');
    const [done, waiting, uploading] = await destinationsOf(configurationId);
    await api.ds.query(`UPDATE runs SET status = 'dispatching', packed_at = now(), artifact_file_name = 'x.sar', artifact_size = 1, artifact_sha256 = $2 WHERE id = $1`, [runId, 'a'.repeat(64)]);
    await api.ds.query(
      `INSERT INTO deliveries (run_id, destination_id, type, status, code, location) VALUES ($1, $2, 'local', 'succeeded', 'successful', 'starface-backup/x/x.sar'),
         ($1, $3, 'local', 'pending', 'timeout', NULL), ($1, $4, 'local', 'running', NULL, NULL)`,
      [runId, done, waiting, uploading],
    );
    const retryAt = new Date(Date.now() + 600_000);
    await api.ds.query(`UPDATE deliveries SET next_attempt_at = $2 WHERE run_id = $1 AND status = 'pending'`, [runId, retryAt]);
    await api.ds.query(
      `INSERT INTO outbox (id, type, version, routing_key, correlation_id, payload, available_at) VALUES ($1, 'backup.deliver', 1, 'backup.deliver.v1', $2, $3, $4)`,
      [randomUUID(), runId, JSON.stringify({ runId, deliveryId: randomUUID() }), retryAt],
    );

    const res = await post(`${V1}/runs/${runId}/cancel`);
    expect(res.status).toBe(202);
    const statusOf = (id: string) => res.body.run.deliveries.find((d: { destinationId: string }) => d.destinationId === id)?.status;
    // The running one shows as pending (an upload in progress) until its dispatcher aborts it.
    expect([statusOf(done), statusOf(waiting), statusOf(uploading)]).toEqual(['succeeded', 'cancelled', 'pending']);
    const rows = await api.ds.query('SELECT destination_id, status, next_attempt_at FROM deliveries WHERE run_id = $1', [runId]);
    const row = (id: string) => rows.find((r: { destination_id: string }) => r.destination_id === id);
    expect([row(done).status, row(waiting).status, row(uploading).status]).toEqual(['succeeded', 'cancelled', 'running']);
    expect(row(waiting).next_attempt_at).toBeNull();
    expect(await api.ds.query(`SELECT 1 FROM outbox WHERE correlation_id = $1 AND type = 'backup.deliver'`, [runId])).toEqual([]);
    // No result event: a cancelled run is no failure (the notifier logs run.cancelled only).
    expect((await outboxOf(runId)).map((r: { type: string }) => r.type).filter((t: string) => t.startsWith('backup.'))).not.toContain('backup.failed');
  });

  it('409 run_finished for a finished run and for an archive run whose deletion is under way; 404 for an unknown run', async () => {
    const { runId } = await newRun('Cancel finished');
    await api.ds.query(`UPDATE runs SET status = 'succeeded', finished_at = now() WHERE id = $1`, [runId]);
    const finished = await post(`${V1}/runs/${runId}/cancel`);
    expect(finished.status).toBe(409);
    expect(finished.body).toMatchObject({ code: 'run_finished', status: 409 });
    expect(finished.body.detail).toContain('succeeded');

    const archive = await newRun('Cancel deleting');
    await api.ds.query(`UPDATE runs SET kind = 'archive', status = 'dispatching', packed_at = now(), delivered_at = now() WHERE id = $1`, [archive.runId]);
    const deleting = await post(`${V1}/runs/${archive.runId}/cancel`);
    expect(deleting.status).toBe(409);
    expect(deleting.body.code).toBe('run_finished');
    expect((await api.ds.query('SELECT status FROM runs WHERE id = $1', [archive.runId]))[0].status).toBe('dispatching');

    expect((await post(`${V1}/runs/${randomUUID()}/cancel`)).status).toBe(404);
    const audit = await api.ds.query(`SELECT outcome FROM audit_events WHERE action = 'run.cancel' AND target_id = $1`, [runId]);
    expect(audit.map((a: { outcome: string }) => a.outcome)).toEqual(['refused']);
  });
});

import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { ADMIN_TOKEN, startTestApi, type TestApi } from './api.test-helper';

const V1 = '/api/v1';
const BULK = ['replay', 'discard'] as const;

/** Bulk replay and discard of dead letters: a JSON object body, and an empty filter only with "all". */
describe('dead letters bulk operations (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;
  let ds: DataSource;
  let base: string;

  const post = (path: string) => request(base).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  const insertLetter = async (over: { queue?: string; correlationId?: string } = {}) => {
    const messageId = randomUUID();
    const correlationId = over.correlationId ?? randomUUID();
    const envelope = { messageId, type: 'backup.due', version: 1, correlationId, occurredAt: new Date().toISOString(), payload: { runId: correlationId, kind: 'backup' } };
    const [row] = await ds.query(
      `INSERT INTO dead_letters (queue, message_id, type, routing_key, correlation_id, headers, body, reason, attempts, first_failed_at, last_failed_at)
       VALUES ($1, $2, 'backup.due', 'backup.due.v1', $3, '{}', $4, 'disk on fire', 5, now(), now()) RETURNING id`,
      [over.queue ?? 'packer.jobs.v1', messageId, correlationId, JSON.stringify(envelope)],
    );
    return row.id as string;
  };

  const openCount = async (): Promise<number> => {
    const [row] = await ds.query('SELECT count(*)::int AS n FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL');
    return row.n;
  };

  const stateOf = async (id: string) => {
    const [row] = await ds.query('SELECT replayed_at, discarded_at, discarded_by FROM dead_letters WHERE id = $1', [id]);
    return row as { replayed_at: Date | null; discarded_at: Date | null; discarded_by: string | null };
  };

  beforeAll(async () => {
    api = await startTestApi('api_dlq');
    ({ ds, base } = api);
  });

  afterAll(async () => {
    await api?.close();
  });

  beforeEach(async () => {
    await ds.query('DELETE FROM dead_letters');
    await insertLetter();
    await insertLetter({ queue: 'notifier.events.v1' });
  });

  describe.each(BULK)('POST /dead-letters/%s', (op) => {
    const path = `${V1}/dead-letters/${op}`;

    it.each([
      ['a form-encoded body', (t: request.Test) => t.type('form').send('queue=packer.jobs.v1')],
      ['an empty form body', (t: request.Test) => t.type('form').send('')],
      ['text/plain', (t: request.Test) => t.type('text/plain').send('{"all":true}')],
      ['no body at all', (t: request.Test) => t],
      ['application/json without a body', (t: request.Test) => t.set('Content-Type', 'application/json')],
    ])('%s → 415 problem+json, nothing touched', async (_name, send) => {
      const res = await send(post(path));
      expect(res.status).toBe(415);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 415, code: 'unsupported_media_type' });
      expect(await openCount()).toBe(2);
    });

    it('JSON that is not a filter object → 400 problem naming the field, nothing touched', async () => {
      const answers = [];
      for (const json of ['[]', '[{"all":true}]', '"all"', '1', 'null', 'true', '{}', '{"all":false}', '{"al":true}', '{"all":"true"}', '{"queue":""}']) {
        const res = await post(path).set('Content-Type', 'application/json').send(json);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        answers.push({ json, status: res.status, fields: res.body.errors.map((e: { field: string }) => e.field) });
      }
      expect(answers).toEqual([
        { json: '[]', status: 400, fields: ['body'] },
        { json: '[{"all":true}]', status: 400, fields: ['body'] },
        { json: '"all"', status: 400, fields: ['body'] },
        { json: '1', status: 400, fields: ['body'] },
        { json: 'null', status: 400, fields: ['body'] },
        { json: 'true', status: 400, fields: ['body'] },
        // An empty filter would match every open letter: only with "all": true.
        { json: '{}', status: 400, fields: ['all'] },
        { json: '{"all":false}', status: 400, fields: ['all'] },
        { json: '{"al":true}', status: 400, fields: ['al'] },
        { json: '{"all":"true"}', status: 400, fields: ['all'] },
        { json: '{"queue":""}', status: 400, fields: ['queue'] },
      ]);
      expect(await openCount()).toBe(2);
    });

    it('a filter touches only the letters it matches, also with "all": true', async () => {
      const runId = randomUUID();
      const a = await insertLetter({ correlationId: runId });
      const res = await post(path).send({ runId, all: true });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ [`${op}ed`]: 1 });
      const row = await stateOf(a);
      expect(op === 'replay' ? row.replayed_at : row.discarded_at).not.toBeNull();
      expect(await openCount()).toBe(2);
    });

    it('"all": true touches every open letter', async () => {
      const res = await post(path).send({ all: true });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ [`${op}ed`]: 2 });
      expect(await openCount()).toBe(0);
      expect((await post(path).send({ all: true })).body).toEqual({ [`${op}ed`]: 0 });
    });
  });

  it('discard skips letters already replayed and records who discarded', async () => {
    const runId = randomUUID();
    const replayed = await insertLetter({ correlationId: runId });
    const open = await insertLetter({ correlationId: runId });
    expect((await post(`${V1}/dead-letters/${replayed}/replay`)).status).toBe(200);
    expect((await post(`${V1}/dead-letters/discard`).send({ runId })).body).toEqual({ discarded: 1 });
    expect((await stateOf(replayed)).discarded_at).toBeNull();
    expect(await stateOf(open)).toMatchObject({ discarded_at: expect.any(Date), discarded_by: 'admin' });
  });
});

import { Client } from 'pg';
import request from 'supertest';
import { RunLifecycle } from '@pbx/persistence';
import { expectEventually, uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';
import { configurationBody } from '../fixtures.test-helper';
import { SseClient } from '../live/sse-client.test-helper';
import { RunEventsHub } from './run-events.hub';

const V1 = '/api/v1';

/** The admin UI's way in: fetch with the bearer header. */
const openRun = (base: string, runId: string, token = ADMIN_TOKEN) => SseClient.open(`${base}${V1}/runs/${runId}/events`, token);

describe('GET /runs/:id/events: live run state (real Postgres NOTIFY, in-process api)', () => {
  let api: TestApi;
  const lifecycle = new RunLifecycle();

  beforeAll(async () => {
    api = await startTestApi('run_events');
  });
  afterAll(async () => {
    // A stream still open when the api stops is ended by it (else the HTTP server would wait for it).
    const { runId } = await newRun();
    const { client } = await openRun(api.base, runId);
    await expectEventually(() => client.events.length >= 2);
    await api?.close();
    await expectEventually(() => client.ended);
  });

  const newRun = async (): Promise<{ runId: string; destinationId: string }> => {
    const res = await request(api.base)
      .post(`${V1}/backup-configurations`)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send(configurationBody(uniqueName('Live'), { action: 'saveAndRun' }));
    expect(res.status).toBe(201);
    return { runId: res.body.run.id, destinationId: res.body.configuration.destinations[0].id };
  };
  const m = () => api.ds.manager;
  const hub = () => api.app.get(RunEventsHub);

  it('401 without a token, 404 for an unknown run, before any stream opens', async () => {
    const { runId } = await newRun();
    const anonymous = await fetch(`${api.base}${V1}/runs/${runId}/events`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/problem\+json/);
    const { res } = await openRun(api.base, '6a1d7f4e-2b7c-4d55-9c3e-8f0b1a2c3d4e');
    expect(res.status).toBe(404);
  });

  it('snapshot first, then every change in order as RunLifecycle writes it, and the end after the final status', async () => {
    const { runId, destinationId } = await newRun();
    const { client, res } = await openRun(api.base, runId);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // The snapshot arrives while the stream stays open (headers and events are flushed, not buffered).
    await expectEventually(() => expect(client.events.map((e) => e.event)).toEqual(['status', 'progress']));
    expect(client.events[0].data).toEqual({ status: 'queued', error: null, final: false });
    expect(client.ended).toBe(false);

    const seen = () => client.events.length;
    const step = async (write: () => Promise<unknown>, expected: Array<[string, Record<string, unknown>]>) => {
      const from = seen();
      await write();
      await expectEventually(() => expect(client.events.slice(from).map((e) => [e.event, e.data])).toEqual(expected.map(([e, d]) => [e, expect.objectContaining(d)])));
    };

    await step(() => lifecycle.transition(m(), runId, { to: 'packing' }), [
      ['status', { status: 'packing' }],
      ['progress', { phase: 'packing', bytesDone: 0, bytesTotal: null }],
    ]);
    await step(() => lifecycle.saveProgress(m(), runId, { bytes: 4096, entriesDone: 2, entriesTotal: null, updatedAt: new Date().toISOString() }), [
      ['progress', { phase: 'packing', bytesDone: 4096, entriesDone: 2, percent: null }],
    ]);
    const artifact = { fileName: 'Live.sar', size: 1000, sha256: 'a'.repeat(64) };
    await step(
      () => api.ds.transaction((tx) => lifecycle.transition(tx, runId, { to: 'dispatching', artifact, counts: {}, progress: { bytes: 1000, entriesDone: 3, entriesTotal: 3, updatedAt: '' } })),
      [
        ['status', { status: 'dispatching' }],
        ['progress', { phase: 'delivering', bytesDone: 1000, bytesTotal: null }],
      ],
    );
    let deliveryId = '';
    await step(
      async () => ([deliveryId] = await lifecycle.planDeliveries(m(), runId, [{ destinationId, type: 'local', target: '[Local]/backups' }])),
      [
        ['progress', { phase: 'delivering', bytesDone: 0, bytesTotal: 1000, percent: 0 }],
        ['delivery', { destinationId, type: 'local', status: 'pending', bytesDone: 0, bytesTotal: 1000 }],
      ],
    );
    await step(() => lifecycle.transitionDelivery(m(), deliveryId, { to: 'running' }), [['delivery', { id: deliveryId, status: 'running', attempts: 1 }]]);
    await step(() => lifecycle.saveDeliveryProgress(m(), deliveryId, 500), [
      ['progress', { bytesDone: 500, percent: 50 }],
      ['delivery', { bytesDone: 500 }],
    ]);
    await step(
      () =>
        api.ds.transaction(async (tx) => {
          await lifecycle.transitionDelivery(tx, deliveryId, { to: 'succeeded', location: 'starface-backup/Live/Live.sar', target: '[Local]/backups', bytes: 1000 });
          await lifecycle.transition(tx, runId, { to: 'succeeded', error: null });
        }),
      [
        ['progress', { phase: 'done', bytesDone: 1000, percent: 100 }],
        ['delivery', { status: 'succeeded', code: 'successful', bytesDone: 1000 }],
        ['status', { status: 'succeeded', final: true }],
      ],
    );
    await expectEventually(() => client.ended);
    expect(client.events.map((e) => Number(e.id))).toEqual(client.events.map((_, i) => i + 1));

    // A reconnect (Last-Event-ID or not) gets the current state, the final status last, and the end.
    const again = await fetch(`${api.base}${V1}/runs/${runId}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'last-event-id': '5' } });
    const text = await again.text();
    expect([...text.matchAll(/^event: (\w+)$/gm)].map((x) => x[1])).toEqual(['progress', 'delivery', 'status']);
    expect(text).toContain('"final":true');
  });

  it('a client that goes away frees its watcher and, the last one, the LISTEN connection', async () => {
    const { runId } = await newRun();
    const listeners = async () =>
      Number((await api.ds.query(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pbx-backup-api-run-events'`))[0].count);
    const before = await listeners();
    const clients = await Promise.all([openRun(api.base, runId), openRun(api.base, runId)]);
    await expectEventually(() => clients.every(({ client }) => client.events.length >= 2));
    expect(hub().watcherCount).toBe(2);
    await expectEventually(() => hub().isListening);
    expect(await listeners()).toBe(before + 1);
    clients[0].client.close();
    await expectEventually(() => hub().watcherCount === 1);
    expect(hub().isActive).toBe(true);
    clients[1].client.close();
    await expectEventually(() => hub().watcherCount === 0 && !hub().isActive);
    await expectEventually(async () => (await listeners()) === before);
  });

  it('keeps streaming through a lost LISTEN connection (it reconnects and reads the run again)', async () => {
    const { runId } = await newRun();
    const { client } = await openRun(api.base, runId);
    await expectEventually(() => hub().isListening && client.events.length >= 2);
    const admin = new Client({ connectionString: api.env.DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pbx-backup-api-run-events'`);
    } finally {
      await admin.end();
    }
    await lifecycle.transition(m(), runId, { to: 'packing' });
    await expectEventually(() => client.events.some((e) => e.event === 'status' && e.data.status === 'packing'), { timeoutMs: 15_000 });
    client.close();
    await expectEventually(() => hub().watcherCount === 0);
  });
});

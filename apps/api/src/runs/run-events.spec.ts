import type { DeliveryEntity, RunEntity } from '@pbx/persistence';
import { eventsOf, RunEventDiff } from './run-events';
import { toDeliveryResponse } from './run.mapper';
import type { Watcher } from './run-events.hub';
import { RunEventsService, type RunEventSink } from './run-events.service';

const run = (over: Partial<RunEntity> = {}): RunEntity =>
  ({
    id: 'r1',
    status: 'queued',
    error: null,
    artifactSize: null,
    progress: null,
    snapshot: { destinations: [{ id: 'd2' }, { id: 'd1' }] },
    ...over,
  }) as RunEntity;
const delivery = (over: Partial<DeliveryEntity> = {}): DeliveryEntity =>
  ({ id: 'x1', destinationId: 'd1', type: 'local', target: 'local', status: 'pending', attempts: 0, bytesSent: 0, code: null, error: null, nextAttemptAt: null, ...over }) as DeliveryEntity;

describe('eventsOf', () => {
  it('sends the status first while the run goes on, last once it is final', () => {
    expect(eventsOf(run(), []).map((e) => e.event)).toEqual(['status', 'progress']);
    const final = eventsOf(run({ status: 'succeeded', artifactSize: 10 }), [delivery({ status: 'succeeded', code: 'successful' })]);
    expect(final.map((e) => e.event)).toEqual(['progress', 'delivery', 'status']);
    expect(final[2].data).toEqual({ status: 'succeeded', error: null, final: true });
  });

  it('packing: bytes written, no total; delivering: every destination counted, a final one whole', () => {
    const [, packing] = eventsOf(run({ status: 'packing', progress: { bytes: 700, entriesDone: 3, entriesTotal: null, updatedAt: '' } }), []);
    expect(packing.data).toEqual({ phase: 'packing', bytesDone: 700, bytesTotal: null, percent: null, entriesDone: 3 });
    const events = eventsOf(run({ status: 'dispatching', artifactSize: 1000 }), [
      delivery({ id: 'a', destinationId: 'd1', status: 'running', bytesSent: 500 }),
      delivery({ id: 'b', destinationId: 'd2', status: 'failed', code: 'authFailed' }),
    ]);
    expect(events[1].data).toMatchObject({ phase: 'delivering', bytesDone: 1500, bytesTotal: 2000, percent: 75 });
    // in the order of the snapshot's destinations
    expect(events.slice(2).map((e) => e.data)).toMatchObject([
      { id: 'b', status: 'failed', code: 'authFailed', bytesTotal: 1000 },
      { id: 'a', status: 'running', bytesDone: 500, bytesTotal: 1000 },
    ]);
  });

  it('a waiting delivery says when it tries again', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const [, , d] = eventsOf(run({ status: 'dispatching', artifactSize: 10 }), [delivery({ status: 'pending', code: 'timeout', nextAttemptAt: at })]);
    expect(d.data).toMatchObject({ status: 'pending', code: 'timeout', nextAttemptAt: '2026-01-01T00:00:00.000Z', heldUntil: null });
  });

  it('a delivery held for its upload window says when it starts (heldUntil), not as a retry', () => {
    const at = new Date('2026-01-01T21:00:00Z');
    const [, , d] = eventsOf(run({ status: 'dispatching', artifactSize: 10 }), [delivery({ status: 'waiting', nextAttemptAt: at })]);
    expect(d.data).toMatchObject({ status: 'waiting', code: null, heldUntil: '2026-01-01T21:00:00.000Z', nextAttemptAt: null });
    expect(toDeliveryResponse(delivery({ status: 'waiting', nextAttemptAt: at, startedAt: null, finishedAt: null }))).toMatchObject({ status: 'waiting', heldUntil: '2026-01-01T21:00:00.000Z', nextAttemptAt: null });
  });
});

describe('RunEventDiff', () => {
  it('answers everything first, then only what changed', () => {
    const diff = new RunEventDiff();
    expect(diff.changed(eventsOf(run(), []))).toHaveLength(2);
    expect(diff.changed(eventsOf(run(), []))).toHaveLength(0);
    expect(diff.changed(eventsOf(run({ status: 'packing' }), [])).map((e) => e.event)).toEqual(['status', 'progress']);
  });
});

describe('RunEventsService', () => {
  const setup = (state: { run: RunEntity | null }) => {
    const watchers = new Set<Watcher>();
    const hub = {
      watch: (_id: string, w: Watcher) => {
        watchers.add(w);
        return () => watchers.delete(w);
      },
    };
    const repository = { findById: async () => state.run, deliveriesOf: async () => [] as DeliveryEntity[] };
    const service = new RunEventsService(repository, hub, { heartbeatMs: 20, retryMs: 1000 });
    const out: string[] = [];
    let closeListener = (): void => undefined;
    let ended = false;
    const sink: RunEventSink = {
      open: () => out.push('<open>'),
      write: (c) => out.push(c),
      end: () => {
        ended = true;
      },
      onClose: (l) => {
        closeListener = l;
      },
    };
    return { service, sink, out, watchers, ended: () => ended, clientGone: () => closeListener() };
  };
  const until = async (probe: () => boolean) => {
    for (let i = 0; i < 200 && !probe(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(probe()).toBe(true);
  };

  it('refuses an unknown run before sending anything', async () => {
    const s = setup({ run: null });
    await expect(s.service.stream('r1', s.sink)).rejects.toMatchObject({ code: 'not_found' });
    expect(s.out).toEqual([]);
  });

  it('opens, sends the snapshot, heartbeats, sends changes, and ends after the final status', async () => {
    const state = { run: run() as RunEntity | null };
    const s = setup(state);
    await s.service.stream('r1', s.sink);
    await until(() => s.out.some((c) => c.includes('event: progress')));
    expect(s.out.slice(0, 3)).toEqual(['<open>', 'retry: 1000\n\n', `id: 1\nevent: status\ndata: {"status":"queued","error":null,"final":false}\n\n`]);
    await until(() => s.out.includes(': heartbeat\n\n'));
    state.run = run({ status: 'failed', error: 'packing failed: x' });
    for (const w of s.watchers) w.changed();
    await until(() => s.ended());
    expect(s.out.filter((c) => c.includes('event: status')).at(-1)).toContain('"final":true');
    expect(s.watchers.size).toBe(0);
  });

  it('lets go of the run when the client goes away', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const s = setup({ run: run() });
      await s.service.stream('r1', s.sink);
      expect(s.watchers.size).toBe(1);
      s.clientGone();
      expect(s.watchers.size).toBe(0);
      const written = s.out.length;
      jest.advanceTimersByTime(1000);
      expect(s.out.length).toBe(written); // no heartbeat after the close
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

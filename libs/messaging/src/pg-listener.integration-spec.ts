import { Client } from 'pg';
import { createLogger } from '@pbx/observability';
import { ensureDatabase, expectEventually, testUrls, uniqueName } from '@pbx/testing';
import { PgListener } from './pg-listener';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('PgListener (real Postgres)', () => {
  let admin: Client;
  beforeAll(async () => {
    await ensureDatabase();
    admin = new Client({ connectionString: testUrls.database });
    await admin.connect();
  });
  afterAll(() => admin.end());

  it('wakes on NOTIFY, and after its connection is killed reconnects, wakes once more and hears the next NOTIFY', async () => {
    const channel = uniqueName('listen');
    const applicationName = `pbx-test-${channel}`;
    let wakes = 0;
    const listener = new PgListener({ databaseUrl: testUrls.database, channel, applicationName, onNotify: () => wakes++, reconnectDelayMs: 50 }, logger);
    listener.start();
    try {
      await expectEventually(() => listener.isListening);
      const afterListen = wakes; // one wake for LISTEN taking effect
      await admin.query('SELECT pg_notify($1, $2)', [channel, '']);
      await expectEventually(() => wakes === afterListen + 1);

      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      await expectEventually(() => wakes >= afterListen + 2 && listener.isListening); // reconnected, and woke for what it may have missed
      const before = wakes;
      await admin.query('SELECT pg_notify($1, $2)', [channel, '']);
      await expectEventually(() => wakes === before + 1);
    } finally {
      await listener.stop();
    }
    expect(listener.isListening).toBe(false);
  });

  it('does not listen while mayListen says no, nor when claim declines', async () => {
    const channel = uniqueName('listen');
    let allowed = false;
    const declined: PgListener[] = [];
    const gated = new PgListener({ databaseUrl: testUrls.database, channel, applicationName: 'pbx-test-gated', onNotify: () => undefined, reconnectDelayMs: 50, mayListen: () => allowed }, logger);
    const claims = { n: 0 };
    const refusing = new PgListener(
      { databaseUrl: testUrls.database, channel, applicationName: 'pbx-test-refusing', onNotify: () => undefined, reconnectDelayMs: 50, claim: async () => (claims.n++, false) },
      logger,
    );
    declined.push(gated, refusing);
    declined.forEach((l) => l.start());
    try {
      await expectEventually(() => claims.n >= 2); // asked again after each decline
      expect(refusing.isListening).toBe(false);
      expect(gated.isListening).toBe(false);
      allowed = true;
      await expectEventually(() => gated.isListening);
      allowed = false; // rechecked while listening: the connection is handed back
      await expectEventually(() => !gated.isListening, { timeoutMs: 5_000 });
    } finally {
      await Promise.all(declined.map((l) => l.stop()));
    }
  });
  it('stop() returns whatever moment it comes in (also while the connection is still being opened) and leaves no session behind', async () => {
    // pg's end() during connect() could wait forever; it hung an api's shutdown in CI.
    const channel = uniqueName('stop');
    const applicationName = `pbx-test-${channel}`;
    const hung: number[] = [];
    for (let i = 0; i < 60; i++) {
      const listener = new PgListener({ databaseUrl: testUrls.database, channel, applicationName, onNotify: () => undefined }, logger);
      listener.start();
      // 0–15 ms: before, during and after connect and LISTEN.
      if (i % 4) await new Promise((resolve) => setImmediate(resolve)).then(() => new Promise((resolve) => setTimeout(resolve, i % 16)));
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([listener.stop().then(() => 'stopped'), new Promise((resolve) => (timer = setTimeout(resolve, 10_000, 'hung')))]);
      clearTimeout(timer);
      if (outcome === 'hung') hung.push(i);
    }
    expect(hung).toEqual([]);
    await expectEventually(async () => (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rows[0].n === 0);
  }, 120_000);
});

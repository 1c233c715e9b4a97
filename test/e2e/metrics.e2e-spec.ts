/**
 * Metrics from every app (issue #22): a backup through the five built apps, a deferred run
 * cancelled through the API, then each app's /metrics (the api's port, each worker's
 * HEALTH_PORT) scraped and the series the issue names looked for — run duration by kind and
 * result, deliveries by code, bytes by destination kind, queue depth and consumers per queue,
 * outbox backlog without held-back messages, lock held and waited seconds, dead letters open
 * (a webhook nobody answers makes one), each scheduled configuration's last success; and every
 * metric deploy/'s alert rules and dashboard query is served by some app.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MaintenanceLock } from '@pbx/locking';
import { METRICS } from '@pbx/observability';
import { seedPbx } from '@pbx/pbx-source';
import { expectEventually, repoRoot, testUrls } from '@pbx/testing';
import { QUEUES, SUBSCRIPTIONS } from '@pbx/contracts';
import { createE2eEnv, type E2eEnv } from './e2e-env';
import { APPS, freePort, type AppName } from './stack';

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Run { id: string; status: string; deliveries: { type: string; status: string; code: string | null }[]; artifact: { size: number } | null }

/** The Prometheus text format, as much of it as the assertions need. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
/** Queues some app consumes (the audit queue is kept for ops to tap, with no consumer). */
const CONSUMED = Object.keys(SUBSCRIPTIONS).filter((q) => q !== QUEUES.audit);
const sum = (samples: Sample[]) => samples.reduce((n, s) => n + s.value, 0);

describe('metrics from every app, end to end', () => {
  let e: E2eEnv;
  let lock: MaintenanceLock;

  beforeAll(async () => {
    // A deferral long enough that the deferred run's held-back message is still there when scraped.
    e = await createE2eEnv('metr', { MAINTENANCE_DEFER_MS: '120000' });
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 2, cdr: 50, voicemails: 1, announcements: 1, minAudioBytes: 1000, maxAudioBytes: 4000 });
    await e.start();
    lock = new MaintenanceLock(e.redis, { key: e.lockKey, ttlMs: 120_000 });
  });

  afterAll(async () => {
    await e?.teardown();
  });

  async function scrape(app: AppName): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${e.stack.ports.get(app)}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return parseMetrics(await res.text());
  }
  const scrapeAll = async () => Object.fromEntries(await Promise.all(APPS.map(async (app) => [app, await scrape(app)] as const))) as Record<AppName, Sample[]>;

  async function runUntil(id: string, done: (r: Run) => boolean): Promise<Run> {
    return expectEventually(async () => {
      const { body } = await e.api.request<Run>('GET', `/api/v1/runs/${id}`);
      return done(body) ? body : null;
    }, { timeoutMs: 90_000, intervalMs: 250, message: `run ${id} did not get there` });
  }

  const configuration = (name: string) => ({
    name,
    reportTo: 'ops@example.com',
    // Scheduled (its first slot tomorrow), so it has a last-success gauge; saveAndRun runs it now.
    interval: 'daily',
    startAt: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    data: { coreData: true, cdrAndVoicemails: true, announcements: true },
    destinations: [{ type: 'local' }],
    action: 'saveAndRun',
  });

  it('a backup, a deferred run and its cancel: every app serves the series the issue lists', async () => {
    // Its success goes to a webhook nobody answers: the notifier's event ends as a dead letter.
    const closedPort = await freePort();
    const created = await e.api.request<{ configuration: { id: string }; run: { id: string } }>('POST', '/api/v1/backup-configurations', {
      ...configuration(`Metrics ${randomBytes(3).toString('hex')}`),
      webhooks: [{ url: `http://127.0.0.1:${closedPort}/hook`, events: ['success'] }],
    });
    expect(created.status).toBe(201);
    const run = await runUntil(created.body.run.id, (r) => ['succeeded', 'partially_failed', 'failed'].includes(r.status));
    expect(run.status).toBe('succeeded');
    const configurationId = created.body.configuration.id;

    // A second run finds the lock held by an archive: deferred, its backup.due held back for MAINTENANCE_DEFER_MS.
    const held = await lock.acquireLease('archive:e2e-metrics');
    expect(held.acquired).toBe(true);
    const second = await e.api.request<{ run: { id: string } }>('POST', '/api/v1/backup-configurations', configuration(`Metrics deferred ${randomBytes(3).toString('hex')}`));
    expect(second.status).toBe(201);
    await runUntil(second.body.run.id, (r) => r.status === 'deferred');

    // State, from every app: the held-back message is not backlog.
    const outboxSeen = await expectEventually(async () => {
      const all = await scrapeAll();
      return APPS.every((app) => find(all[app], METRICS.outboxDeferred)[0]?.value >= 1 && find(all[app], METRICS.outboxPending)[0]?.value === 0) ? all : null;
    }, { timeoutMs: 30_000, intervalMs: 500, message: 'outbox: the held-back message was not counted apart in every app' });
    for (const app of APPS) {
      expect(find(outboxSeen[app], METRICS.outboxOldestPending)).toEqual([expect.objectContaining({ value: 0 })]);
    }

    const cancelled = await e.api.request<{ run: { status: string } }>('POST', `/api/v1/runs/${second.body.run.id}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.run.status).toBe('cancelled');
    if (held.acquired) await held.lease.release();

    const all = await expectEventually(async () => {
      const s = await scrapeAll();
      // The relay's and consumers' last steps (notifier's mail) may still be under way.
      const drained = APPS.every((app) => CONSUMED.every((queue) => find(s[app], METRICS.queueMessages, { queue })[0]?.value === 0));
      return drained && APPS.every((app) => find(s[app], METRICS.deadLettersOpen)[0]?.value === 1) ? s : null;
    }, { timeoutMs: 30_000, intervalMs: 500, message: 'queues did not drain or the dead letter is not reported (by every app)' });

    // Everything missing or wrong, listed at once.
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => ok || problems.push(what);
    for (const app of APPS) {
      const s = all[app];
      // Queue depth and consumers per consumer queue: each is served by some app.
      for (const queue of CONSUMED) {
        check(find(s, METRICS.queueMessages, { queue }).length === 1, `${app}: ${METRICS.queueMessages}{queue="${queue}"}`);
        check(find(s, METRICS.queueConsumers, { queue })[0]?.value >= 1, `${app}: ${METRICS.queueConsumers}{queue="${queue}"} >= 1`);
      }
      // The audit queue has no consumer on purpose: reporting it would trip the alert on "a queue without consumers".
      check(find(s, METRICS.queueConsumers, { queue: QUEUES.audit }).length === 0, `${app}: no ${METRICS.queueConsumers}{queue="${QUEUES.audit}"}`);
      check(find(s, METRICS.deadLettersOpenByQueue, { queue: QUEUES.notifierEvents })[0]?.value === 1, `${app}: ${METRICS.deadLettersOpenByQueue}{queue="${QUEUES.notifierEvents}"} 1`);
      // Per scheduled configuration: its last success (the backup above), interval and creation.
      const lastSuccess = find(s, METRICS.configurationLastSuccess, { configuration_id: configurationId, kind: 'backup' });
      check(lastSuccess.length === 1 && Math.abs(lastSuccess[0].value - Date.now() / 1000) < 300, `${app}: ${METRICS.configurationLastSuccess} of the configuration, recent`);
      check(find(s, METRICS.configurationInterval, { configuration_id: configurationId })[0]?.value === 86_400, `${app}: ${METRICS.configurationInterval} 86400`);
      check(find(s, METRICS.configurationCreated, { configuration_id: configurationId })[0]?.value > 0, `${app}: ${METRICS.configurationCreated}`);
    }

    // Events, counted by the app they happened in: summed over the five.
    const events = APPS.flatMap((app) => all[app]);
    const total = (name: string, labels: Record<string, string>) => sum(find(events, name, labels));
    check(total(`${METRICS.runDuration}_count`, { kind: 'backup', result: 'succeeded' }) === 1, `${METRICS.runDuration}{kind="backup",result="succeeded"} once`);
    check(total(`${METRICS.runDuration}_sum`, { kind: 'backup', result: 'succeeded' }) > 0, `${METRICS.runDuration}_sum > 0`);
    // The cancel ended in the api: its RunLifecycle timed it.
    check(sum(find(all.api, `${METRICS.runDuration}_count`, { kind: 'backup', result: 'cancelled' })) === 1, `api: ${METRICS.runDuration}{kind="backup",result="cancelled"} once`);
    check(total(METRICS.deliveries, { destination_kind: 'local', code: 'successful' }) === 1, `${METRICS.deliveries}{destination_kind="local",code="successful"} 1`);
    check(total(METRICS.deliveredBytes, { destination_kind: 'local' }) === run.artifact!.size, `${METRICS.deliveredBytes}{destination_kind="local"} = ${run.artifact!.size}`);
    // The first run got the lock at once (waited 0 s) and held it while it packed.
    check(total(`${METRICS.lockWait}_count`, { holder: 'backup' }) === 1, `${METRICS.lockWait}{holder="backup"} once`);
    check(total(`${METRICS.lockWait}_bucket`, { holder: 'backup', le: '0' }) === 1, `${METRICS.lockWait}{holder="backup"} in the 0 bucket`);
    check(total(`${METRICS.lockHeld}_count`, { holder: 'backup' }) === 1, `${METRICS.lockHeld}{holder="backup"} once`);
    check(total(`${METRICS.lockHeld}_sum`, { holder: 'backup' }) > 0, `${METRICS.lockHeld}_sum > 0`);
    // A cancelled run's deliveries that never started count as cancelled.
    const cancelledRun = await e.api.request<Run>('GET', `/api/v1/runs/${second.body.run.id}`);
    const notStarted = cancelledRun.body.deliveries.filter((d) => d.status === 'cancelled').length;
    check(total(METRICS.deliveries, { destination_kind: 'local', code: 'cancelled' }) === notStarted, `${METRICS.deliveries}{code="cancelled"} = ${notStarted}`);
    // The api's own totals sit beside the shared ones on its port.
    check(find(all.api, METRICS.runs, { kind: 'backup', status: 'succeeded' })[0]?.value === 1, `api: ${METRICS.runs}{status="succeeded"} 1`);
    check(find(all.api, METRICS.runs, { kind: 'backup', status: 'cancelled' })[0]?.value === 1, `api: ${METRICS.runs}{status="cancelled"} 1`);
    // What deploy/ queries (the alert rules, the dashboard) is served, not only named in METRICS.
    const served = new Set(events.map((x) => x.name.replace(/_(bucket|count|sum)$/, '')));
    const deploy = ['prometheus/pbx-backup.rules.yml', 'grafana/pbx-backup.json'].map((f) => readFileSync(join(repoRoot, 'deploy', f), 'utf8')).join('\n');
    for (const name of new Set([...deploy.matchAll(/\bpbx_backup_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')))) {
      check(served.has(name), `deploy/ queries ${name}: no app serves it`);
    }
    expect(problems).toEqual([]);
  });
});

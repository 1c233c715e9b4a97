/**
 * The admin UI's Runs, run detail and Dead letters pages in a real browser against the five
 * built apps: a run started through the API is followed live on its detail page (server-sent
 * events: phases arrive before the end) and ends succeeded with its destination's result in
 * words; a dead letter (recorded as apps/api/src/dead-letters.integration-spec.ts does) is
 * replayed through the UI and a filtered set discarded, each after a dialog that says what
 * will happen; German; axe-core (no serious or critical violations) on each page. Screenshots
 * go to tmp/admin-runs/. Needs `npm run build` and /usr/bin/chromium.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { type Page } from 'playwright-core';
import { MaintenanceLock } from '@pbx/locking';
import { ApiTokensRepository, ApiTokensService } from '@pbx/ops';
import { createDataSource } from '@pbx/persistence';
import { expectEventually, testUrls, uniqueName } from '@pbx/testing';
import { adminSuite, signIn } from './admin-browser';
import { type E2eEnv } from './e2e-env';

interface Run {
  id: string;
  status: string;
}

describe('admin UI: runs, live progress, dead letters (five processes, chromium)', () => {
  let e: E2eEnv;
  let page: Page;
  let base: string;
  let db: Client;
  let runId = '';
  let configurationName = '';
  const { shot, noSeriousA11yViolations } = adminSuite({
    name: 'uiruns',
    shots: 'admin-runs',
    // A run deferred behind a held maintenance lock waits longer than the test: only a cancel ends it.
    env: () => ({ MAINTENANCE_DEFER_MS: '600000' }),
    // Enough data that packing and delivering take a few progress writes (every 500 ms).
    seed: { users: 20, cdr: 150_000, voicemails: 30, announcements: 2, minAudioBytes: 1_000_000, maxAudioBytes: 2_000_000 },
    // Signed in below, once the page records what it shows.
    signIn: false,
    timeoutMs: 240_000,
    ready: (s) => ({ e, page, base } = s),
  });

  beforeAll(async () => {
    db = new Client({ connectionString: testUrls.database });
    await db.connect();
    // Every phase the detail page shows, and whether it said "Live", recorded in the page itself.
    await page.context().addInitScript(() => {
      // Runs in the browser; the test's tsconfig has no DOM types, so the few used are spelled out.
      interface El {
        getAttribute(name: string): string | null;
      }
      const w = globalThis as unknown as {
        __phases: string[];
        __live: boolean;
        document: { querySelector(selector: string): El | null };
        MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, unknown>): void };
      };
      w.__phases = [];
      w.__live = false;
      const look = () => {
        const phase = w.document.querySelector('[data-testid="run-live-progress"]')?.getAttribute('data-phase');
        if (phase && w.__phases[w.__phases.length - 1] !== phase) w.__phases.push(phase);
        if (w.document.querySelector('[data-testid="live-badge"]')) w.__live = true;
      };
      new w.MutationObserver(look).observe(w.document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase'] });
    });
    await signIn(page, base, e.admin);
  });

  afterAll(async () => {
    await db?.end();
  });

  const insertDeadLetter = async (queue: string, type = 'backup.due'): Promise<string> => {
    const messageId = randomUUID();
    const correlationId = randomUUID();
    const envelope = { messageId, type, version: 1, correlationId, occurredAt: new Date().toISOString(), payload: { runId: correlationId, kind: 'backup' } };
    const { rows } = await db.query(
      `INSERT INTO "${e.schema}".dead_letters (queue, message_id, type, routing_key, correlation_id, headers, body, reason, attempts, first_failed_at, last_failed_at)
       VALUES ($1, $2, $3, $4, $5, '{}', $6, 'handler failed: disk on fire', 5, now() - interval '2 hours', now() - interval '1 hour') RETURNING id`,
      [queue, messageId, type, `${type}.v1`, correlationId, JSON.stringify(envelope)],
    );
    return rows[0].id as string;
  };
  const letterState = async (id: string) => (await db.query(`SELECT replayed_at, discarded_at FROM "${e.schema}".dead_letters WHERE id = $1`, [id])).rows[0] as { replayed_at: Date | null; discarded_at: Date | null };

  it('a run started through the API is followed live on its detail page and ends succeeded with its destination\'s result', async () => {
    configurationName = uniqueName('UI runs');
    const created = await e.api.request<{ configuration: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name: configurationName,
      reportTo: 'ui-runs@example.com',
      interval: 'manual',
      startAt: '2026-12-01T02:30:00',
      timezone: 'Europe/Berlin',
      data: { coreData: true, cdrAndVoicemails: true, announcements: true },
      destinations: [{ type: 'local' }],
      action: 'save',
    });
    expect(created.status).toBe(201);
    const started = await e.api.request<{ run: Run }>('POST', `/api/v1/backup-configurations/${created.body.configuration.id}/runs`);
    expect(started.status).toBe(202);
    runId = started.body.run.id;
    await page.goto(`${base}/runs/${runId}`);
    await page.getByRole('heading', { name: `Run of "${configurationName}"` }).waitFor();
    // A picture of the run while it goes on, when the machine is slow enough to catch one.
    await page
      .locator('[data-testid="run-live-progress"]:not([data-phase="done"])')
      .waitFor({ timeout: 3000 })
      .then(() => shot('en-run-live'), () => undefined);
    const row = page.getByTestId('delivery-row');
    await expectEventually(async () => (await row.getAttribute('data-status')) === 'succeeded', { timeoutMs: 120_000, intervalMs: 200, message: 'the delivery did not succeed' });
    await page.locator('[data-status="succeeded"]').first().waitFor();
    await expectEventually(async () => (await page.getByTestId('run-live-progress').getAttribute('data-phase')) === 'done');
    const seen = await page.evaluate(() => {
      const w = globalThis as unknown as { __phases: string[]; __live: boolean };
      return { phases: w.__phases, live: w.__live };
    });
    // It was live: the stream said so, and phases before the end were shown.
    expect(seen.live).toBe(true);
    expect(seen.phases.at(-1)).toBe('done');
    expect(seen.phases.filter((p) => p !== 'done').length).toBeGreaterThan(0);
    await expect(row.getByTestId('delivery-code-text').textContent()).resolves.toContain('The backup was stored successfully.');
    await expect(row.textContent()).resolves.toContain('Server hard drive');
    await expect(page.getByTestId('run-bytes').textContent()).resolves.toContain('100 %');
    await page.getByRole('button', { name: 'Download' }).waitFor();
    const run = (await e.api.request<Run>('GET', `/api/v1/runs/${runId}`)).body;
    expect(run.status).toBe('succeeded');
    await noSeriousA11yViolations('run detail');
    await shot('en-run-detail');
  }, 180_000);

  it('Cancel run: the dialog says what happens (en/de), "Keep running" keeps it; confirmed, the run is cancelled and shown so', async () => {
    const lock = new MaintenanceLock(e.redis, { key: e.lockKey, ttlMs: 10_000 });
    const held = await lock.acquireLease('archive:ui-someone-else');
    expect(held.acquired).toBe(true);
    try {
      const name = uniqueName('UI cancel');
      const created = await e.api.request<{ run: Run }>('POST', '/api/v1/backup-configurations', {
        name, reportTo: 'ui-cancel@example.com', interval: 'manual', data: { coreData: true, cdrAndVoicemails: false, announcements: false }, destinations: [{ type: 'local' }], action: 'saveAndRun',
      });
      expect(created.status).toBe(201);
      const id = created.body.run.id;
      await expectEventually(async () => (await e.api.request<Run>('GET', `/api/v1/runs/${id}`)).body.status === 'deferred', { timeoutMs: 30_000, message: 'the run was not deferred' });

      // German first: the button, the dialog and its buttons; "Weiterlaufen lassen" changes nothing.
      await page.goto(`${base}/runs/${id}`);
      await page.getByText('DE', { exact: true }).click();
      await page.getByRole('heading', { name: `Lauf von „${name}“` }).waitFor();
      await page.getByRole('button', { name: 'Lauf abbrechen' }).click();
      const dialogDe = page.getByRole('dialog', { name: 'Diesen Lauf abbrechen?' });
      await expect(dialogDe.textContent()).resolves.toContain('Es wird nichts gepackt oder übertragen');
      await noSeriousA11yViolations('cancel dialog (de)');
      await shot('de-run-cancel-dialog');
      await dialogDe.getByRole('button', { name: 'Weiterlaufen lassen' }).click();
      await dialogDe.waitFor({ state: 'detached' });
      expect((await e.api.request<Run>('GET', `/api/v1/runs/${id}`)).body.status).toBe('deferred');

      await page.getByText('EN', { exact: true }).click();
      await page.getByRole('heading', { name: `Run of "${name}"` }).waitFor();
      await page.getByRole('button', { name: 'Cancel run' }).click();
      const dialog = page.getByRole('dialog', { name: 'Cancel this run?' });
      await expect(dialog.textContent()).resolves.toContain('The run stops: it is not packed or delivered, the partial archive is deleted, and no report is mailed.');
      await noSeriousA11yViolations('cancel dialog');
      await shot('en-run-cancel-dialog');
      await dialog.getByRole('button', { name: 'Cancel run' }).click();
      await dialog.waitFor({ state: 'detached' });
      // The page shows it: the status badge says cancelled, the phase is done, the button is gone.
      await page.getByTestId('run-status').filter({ hasText: 'cancelled' }).first().waitFor({ timeout: 15_000 });
      await expectEventually(async () => (await page.getByTestId('run-live-progress').getAttribute('data-phase')) === 'done', { timeoutMs: 15_000 });
      expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
      expect((await e.api.request<Run>('GET', `/api/v1/runs/${id}`)).body.status).toBe('cancelled');
      await noSeriousA11yViolations('cancelled run');
      await shot('en-run-cancelled');
      await page.getByText('DE', { exact: true }).click();
      await page.getByTestId('run-status').filter({ hasText: 'abgebrochen' }).first().waitFor();
      await shot('de-run-cancelled');
      await page.getByText('EN', { exact: true }).click();
    } finally {
      if (held.acquired) await held.lease.release();
    }
  }, 90_000);

  it('the runs list filters by status and kind in the URL and links to the run', async () => {
    await page.goto(`${base}/runs?status=succeeded&kind=backup`);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    const row = page.getByTestId('run-row').filter({ hasText: configurationName });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('succeeded');
    await noSeriousA11yViolations('runs list');
    await shot('en-runs-list');
    await page.goto(`${base}/runs?status=failed`);
    await page.getByText('No runs match.').waitFor();
    await page.goto(`${base}/runs?status=succeeded`);
    await row.getByRole('link').click();
    await page.waitForURL(`**/runs/${runId}`);
  });

  it('dead letters: one replayed, then a filtered set discarded, each after a dialog that says what will happen', async () => {
    const one = await insertDeadLetter('packer.jobs.v1');
    const others = [await insertDeadLetter('notifier.events.v1', 'backup.failed'), await insertDeadLetter('notifier.events.v1', 'backup.failed')];
    await page.goto(`${base}/dead-letters`);
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    await expectEventually(async () => (await page.getByTestId('dead-letter-row').count()) === 3);
    await noSeriousA11yViolations('dead letters');
    await shot('en-dead-letters');
    const row = page.getByTestId('dead-letter-row').filter({ hasText: 'packer.jobs.v1' });
    await expect(row.textContent()).resolves.toContain('disk on fire');
    await expect(row.textContent()).resolves.toContain('1 hour ago');
    await row.getByRole('button', { name: 'Replay' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay this dead letter?' });
    await expect(dialog.getByTestId('confirm-text').textContent()).resolves.toBe(
      'The backup.due message is sent to the queue packer.jobs.v1 again, once, exactly as it was. The service there handles it as new; if it fails again it comes back here as a new dead letter.',
    );
    await noSeriousA11yViolations('replay dialog');
    await shot('en-dead-letter-replay-dialog');
    await dialog.getByRole('button', { name: 'Replay' }).click();
    await page.getByText('1 dead letter(s) replayed.').waitFor();
    expect((await letterState(one)).replayed_at).not.toBeNull();
    await expectEventually(async () => (await row.getAttribute('data-state')) === 'replayed');

    await page.getByLabel('Queue').fill('notifier.events.v1');
    await page.getByRole('button', { name: 'Filters' }).click();
    await page.waitForURL('**/dead-letters?queue=notifier.events.v1');
    await page.getByRole('button', { name: 'Discard all matching' }).click();
    const bulk = page.getByRole('dialog', { name: 'Discard every matching dead letter?' });
    await expect(bulk.getByTestId('confirm-text').textContent()).resolves.toBe(
      'Every open dead letter (not yet replayed or discarded) with Queue = notifier.events.v1 is marked discarded and no longer listed. None is sent anywhere. That is 2 right now.',
    );
    await bulk.getByRole('button', { name: 'Discard 2' }).click();
    await page.getByText('2 dead letter(s) discarded.').waitFor();
    for (const id of others) expect((await letterState(id)).discarded_at).not.toBeNull();
    expect((await letterState(one)).discarded_at).toBeNull();
  }, 60_000);

  it('a viewer sees runs but no Download, no Verify and no Dead letters', async () => {
    const ds = createDataSource({ url: testUrls.database, schema: e.schema, poolSize: 1 });
    await ds.initialize();
    let viewer: string;
    try {
      viewer = (await new ApiTokensService(new ApiTokensRepository(ds), e.admin).create(uniqueName('viewer'), 'viewer')).token;
    } finally {
      await ds.destroy();
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(viewer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signed in where the page was; the top bar names the role.
    await expectEventually(async () => (await page.getByTestId('token-role').textContent()) === 'viewer');
    await page.goto(`${base}/runs/${runId}`);
    await page.getByTestId('delivery-row').getByText('The backup was stored successfully.').waitFor();
    expect(await page.getByRole('button', { name: 'Download' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Verify stored copies' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Dead letters' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(e.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectEventually(async () => (await page.getByTestId('token-role').textContent()) === 'admin');
  });

  it('German: run detail, runs list and dead letters', async () => {
    await page.goto(`${base}/runs/${runId}`);
    await page.getByText('DE', { exact: true }).click();
    await page.getByRole('heading', { name: `Lauf von „${configurationName}“` }).waitFor();
    await expect(page.getByTestId('delivery-code-text').textContent()).resolves.toContain('Die Sicherung wurde erfolgreich gespeichert.');
    await page.getByRole('button', { name: 'Herunterladen' }).waitFor();
    await noSeriousA11yViolations('run detail (de)');
    await shot('de-run-detail');
    await page.goto(`${base}/runs`);
    await page.getByRole('heading', { name: 'Läufe' }).waitFor();
    await page.getByTestId('run-row').first().waitFor();
    await shot('de-runs-list');
    await page.goto(`${base}/dead-letters?includeDiscarded=true`);
    await page.getByRole('heading', { name: 'Unzustellbare Nachrichten' }).waitFor();
    await page.getByTestId('dead-letter-row').first().waitFor();
    await noSeriousA11yViolations('dead letters (de)');
    await shot('de-dead-letters');
  });

  it('Audit: the trail lists what was done (the cancel, the replay) by whom, filtered by action in the URL; German', async () => {
    await page.goto(`${base}/audit`);
    await page.getByText('EN', { exact: true }).click();
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    const cancel = page.locator('[data-testid="audit-row"][data-action="run.cancel"]');
    await cancel.first().waitFor();
    await expect(cancel.first().textContent()).resolves.toMatch(/admin.*Run cancelled.*run.*ok/s);
    await cancel.first().getByRole('link').waitFor();
    await noSeriousA11yViolations('audit');
    await shot('en-audit');
    await page.goto(`${base}/audit?action=dead-letter.replay`);
    await expectEventually(async () => {
      const actions = await page.getByTestId('audit-row').evaluateAll((els) => els.map((el) => el.getAttribute('data-action')));
      return actions.length > 0 && actions.every((a) => a === 'dead-letter.replay');
    }, { message: 'the filter by action did not apply' });
    await page.getByText('DE', { exact: true }).click();
    await page.getByRole('heading', { name: 'Protokoll' }).waitFor();
    await expect(page.getByTestId('audit-row').first().textContent()).resolves.toContain('Nachricht erneut gesendet');
    await noSeriousA11yViolations('audit (de)');
    await shot('de-audit');
    await page.getByText('EN', { exact: true }).click();
  });
});

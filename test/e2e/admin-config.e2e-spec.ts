/**
 * The admin UI's configuration page and Archiving pages in chromium against the five built
 * apps: add a destination later (SFTP, with Test connection and the host key confirmed) to a
 * saved configuration, run it → both destinations delivered, remove one behind its dialog;
 * archiving create and edit; the wizard's stepper marks step 4 as the current one; new inputs
 * reachable by their label with the keyboard; axe-core (no serious or critical violation) on
 * every new page; screenshots in en and de under tmp/admin-config/. Needs `npm run build` and
 * /usr/bin/chromium.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Locator, type Page } from 'playwright-core';
import { expectEventually, peers, sftpHostKeyFingerprint, uniqueName } from '@pbx/testing';
import { adminSuite, fillSftpConfirmingHostKey, setLanguage, tabUntilFocused } from './admin-browser';
import { type E2eEnv } from './e2e-env';

interface Configuration {
  id: string;
  name: string;
  items?: Record<string, { enabled: boolean; daysToKeep: number }>;
  destinations: Array<{ id: string; type: string } & Record<string, unknown>>;
}
interface Run {
  id: string;
  status: string;
  deliveries: Array<{ destinationId: string; type: string; status: string }>;
}

describe('admin UI: configuration page, add a destination later, archiving (five processes)', () => {
  let e: E2eEnv;
  let page: Page;
  let base: string;
  const { shot, noSeriousA11yViolations } = adminSuite({
    name: 'uicfg',
    shots: 'admin-config',
    seed: { users: 5, cdr: 50, voicemails: 1, announcements: 1, minAudioBytes: 2_000, maxAudioBytes: 4_000 },
    ready: (s) => ({ e, page, base } = s),
  });

  async function open(path: string, language: 'en' | 'de' = 'en'): Promise<void> {
    await setLanguage(page, language);
    await page.goto(`${base}${path}`);
  }

  /** Presses Tab until `target` has the focus (keyboard only). */
  const tabTo = (target: Locator, max = 60) => tabUntilFocused(page, target, max);

  async function createBackup(name: string): Promise<Configuration> {
    const res = await e.api.request<{ configuration: Configuration }>('POST', '/api/v1/backup-configurations', {
      name,
      reportTo: 'cfg-e2e@example.com',
      interval: 'daily',
      startAt: '2030-01-01T02:00:00',
      timezone: 'Europe/Berlin',
      data: { coreData: true, cdrAndVoicemails: false, announcements: false },
      destinations: [{ type: 'local', path: 'first' }],
      action: 'save',
    });
    expect(res.status).toBe(201);
    return res.body.configuration;
  }

  it('wizard: on step 4 the stepper marks step 4 (Summary) as the current step, not step 3', async () => {
    await open('/backups/new');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(uniqueName('UI stepper'));
    await page.getByLabel('Report to').fill('stepper@example.com');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Core data').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: 'USB storage' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('wizard-summary').waitFor();
    await shot('en-wizard-step4-stepper');
    const current = page.locator('[aria-current="step"]');
    await expect(current.count()).resolves.toBe(1);
    await expect(current.textContent()).resolves.toContain('Summary');
  }, 60_000);

  it('configuration page: add an SFTP destination later (Test connection, host key confirmed), run → both delivered, then remove one', async () => {
    const name = uniqueName('UI cfg');
    const c = await createBackup(name);
    await open('/backups');
    await page.getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { name, exact: true }).waitFor();
    await expect(page.getByTestId('configuration-settings').textContent()).resolves.toContain('cfg-e2e@example.com');
    await expect(page.getByTestId('destination-row').count()).resolves.toBe(1);
    await page.getByText('No run has delivered here yet.').waitFor();
    await noSeriousA11yViolations('configuration page');
    await shot('en-configuration-page');

    await page.getByRole('button', { name: 'Add destination' }).click();
    const dialog = page.getByRole('dialog');
    // Without a confirmed key the dialog asks for it, as the wizard does.
    await fillSftpConfirmingHostKey(dialog, join(peers.sftp.homeDir, 'ui-cfg-e2e'), 'Add destination');
    await noSeriousA11yViolations('add destination dialog');
    await shot('en-add-destination-sftp');
    await dialog.getByRole('button', { name: 'Add destination' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('The destination was added.').waitFor();
    const stored = (await e.api.request<Configuration>('GET', `/api/v1/backup-configurations/${c.id}`)).body;
    expect(stored.destinations.map((d) => d.type)).toEqual(['local', 'sftp']);
    expect(stored.destinations[1]).toMatchObject({ hostKeyFingerprint: sftpHostKeyFingerprint(), hasPassword: true });

    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('link', { name: 'Follow the run' }).waitFor();
    const run = await expectEventually(
      async () => {
        const { body } = await e.api.request<{ items: Run[] }>('GET', `/api/v1/runs?configurationId=${c.id}`);
        const r = body.items[0];
        return r && ['succeeded', 'partially_failed', 'failed'].includes(r.status) ? r : null;
      },
      { timeoutMs: 90_000, intervalMs: 500, message: 'the run did not finish' },
    );
    expect(run.status).toBe('succeeded');
    expect(run.deliveries.map((d) => [d.type, d.status])).toEqual([
      ['local', 'succeeded'],
      ['sftp', 'succeeded'],
    ]);
    // The page shows each destination's last result in words.
    const rows = page.getByTestId('destination-row');
    await expectEventually(async () => (await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-last-status')))).join() === 'succeeded,succeeded', { timeoutMs: 15_000, intervalMs: 300 });
    await expect(rows.nth(1).textContent()).resolves.toContain('The backup was stored successfully.');
    await shot('en-configuration-page-delivered');

    // Remove the local one: a dialog says what happens; then only SFTP is left and cannot be removed.
    await rows.nth(0).getByRole('button', { name: /^Remove/ }).click();
    await expect(page.getByTestId('confirm-text').textContent()).resolves.toContain('Files already stored there stay where they are');
    await noSeriousA11yViolations('remove destination dialog');
    await page.getByRole('button', { name: 'Remove destination' }).click();
    await page.getByText(/was removed\.$/).waitFor();
    await rows.nth(1).waitFor({ state: 'detached' });
    await expect(rows.first().getByRole('button', { name: /^Remove/ }).isDisabled()).resolves.toBe(true);
    expect((await e.api.request<Configuration>('GET', `/api/v1/backup-configurations/${c.id}`)).body.destinations.map((d) => d.type)).toEqual(['sftp']);

    // German.
    await open(`/backups/${c.id}`, 'de');
    await page.getByRole('heading', { name: 'Einstellungen' }).waitFor();
    await page.getByRole('button', { name: 'Ziel hinzufügen' }).waitFor();
    await noSeriousA11yViolations('configuration page (de)');
    await shot('de-configuration-page');
    await page.getByRole('button', { name: 'Ziel hinzufügen' }).click();
    await page.getByRole('dialog').getByRole('radio', { name: 'Windows-Freigabe' }).click();
    await shot('de-add-destination-smb');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  }, 180_000);

  it('configuration page: the encryption choice and the webhooks, read-only — recipients and origins shown, never a passphrase, a webhook secret or a URL\'s token (en, de)', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'pbx-uicfg-age-')), 'key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    const recipient = /# public key: (age1\S+)/.exec(readFileSync(keyFile, 'utf8'))![1]!;
    rmSync(keyFile, { force: true });
    const token = `T0K3N${randomBytes(8).toString('hex')}`;
    const secret = `whsec-${randomBytes(12).toString('hex')}`;
    const passphrase = `ui cfg passphrase ${randomBytes(6).toString('hex')}`;
    const create = async (name: string, extra: Record<string, unknown>) => {
      const res = await e.api.request<{ configuration: Configuration }>('POST', '/api/v1/backup-configurations', {
        name, reportTo: 'cfg-e2e@example.com', interval: 'manual', data: { coreData: true, cdrAndVoicemails: false, announcements: false }, destinations: [{ type: 'local' }], action: 'save', ...extra,
      });
      expect(res.status).toBe(201);
      return res.body.configuration;
    };
    const withKeys = await create(uniqueName('UI cfg keys'), {
      encryption: { mode: 'recipients', recipients: [recipient] },
      webhooks: [
        { url: `https://hooks.slack.example.com/services/${token}`, format: 'slack', events: ['failure', 'staleness'] },
        { url: `https://alerts.example.net:8443/pbx?key=${token}`, format: 'json', events: ['failure', 'success'], secret },
      ],
    });
    const sealed = await create(uniqueName('UI cfg pass'), { encryption: { mode: 'passphrase', passphrase } });

    await open(`/backups/${withKeys.id}`);
    await page.getByRole('heading', { name: withKeys.name, exact: true }).waitFor();
    const encryption = page.getByTestId('configuration-encryption');
    await expect(encryption.getAttribute('data-mode')).resolves.toBe('recipients');
    await expect(encryption.getByTestId('encryption-recipient').allTextContents()).resolves.toEqual([recipient]);
    await expect(encryption.textContent()).resolves.toContain('encrypted with age for these public keys');
    const hooks = page.getByTestId('webhook-row');
    await expect(hooks.count()).resolves.toBe(2);
    expect((await hooks.nth(0).locator('th, td').allTextContents()).map((x) => x.trim())).toEqual(['https://hooks.slack.example.com', 'Slack', 'failure, no recent backup', 'no']);
    expect((await hooks.nth(1).locator('th, td').allTextContents()).map((x) => x.trim())).toEqual(['https://alerts.example.net:8443', 'JSON', 'failure, success', 'yes (a secret is stored, not shown)']);
    // Read-only: no input to change them here (Edit does that), and nothing secret in the page.
    await expect(page.getByTestId('configuration-webhooks').locator('input, textarea').count()).resolves.toBe(0);
    const html = await page.content();
    expect(html).not.toContain(token);
    expect(html).not.toContain(secret);
    await noSeriousA11yViolations('configuration page (encryption, webhooks)');
    await shot('en-configuration-page-encryption-webhooks');

    await open(`/backups/${sealed.id}`);
    await page.getByRole('heading', { name: sealed.name, exact: true }).waitFor();
    await expect(page.getByTestId('configuration-encryption').getAttribute('data-mode')).resolves.toBe('passphrase');
    await expect(page.getByTestId('configuration-encryption').textContent()).resolves.toContain('The passphrase is stored sealed and never shown');
    await page.getByText('No webhooks: reports go by e-mail only.').waitFor();
    expect(await page.content()).not.toContain(passphrase);
    await shot('en-configuration-page-passphrase');

    await open(`/backups/${withKeys.id}`, 'de');
    await page.getByRole('heading', { name: 'Verschlüsselung' }).waitFor();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByRole('columnheader', { name: 'Empfänger (Ursprung)' }).waitFor();
    expect((await page.getByTestId('webhook-row').nth(0).locator('td').allTextContents()).map((x) => x.trim())).toEqual(['Slack', 'Fehlschlag, keine aktuelle Sicherung', 'nein']);
    await noSeriousA11yViolations('configuration page (encryption, webhooks, de)');
    await shot('de-configuration-page-encryption-webhooks');
  }, 60_000);

  it('archiving: create (local destination, "Only keep settings"), then edit its days to keep; listed with its destination', async () => {
    const name = uniqueName('UI archive');
    await open('/archiving');
    await page.getByRole('heading', { name: 'Archiving configurations' }).waitFor();
    await noSeriousA11yViolations('archiving list');
    await page.getByRole('link', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'New archiving configuration' }).waitFor();
    // Nothing filled: the errors stand beside their fields.
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('textbox', { name: 'Name', exact: true }).getAttribute('aria-invalid')).resolves.toBe('true');
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
    await page.getByLabel('Report to').fill('archive@example.com');
    await page.getByLabel('Voicemails', { exact: true }).check();
    await page.getByLabel('Days to keep (CDR (call records))').fill('30');
    await page.getByRole('radio', { name: 'Server hard drive' }).click();
    await page.getByRole('radio', { name: 'Only keep settings' }).check();
    await noSeriousA11yViolations('archiving form');
    await shot('en-archiving-new');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name, exact: true }).waitFor();
    await expect(page.getByTestId('configuration-settings').textContent()).resolves.toContain('CDR (call records): older than 30 days');
    await noSeriousA11yViolations('archiving configuration page');
    await shot('en-archiving-configuration-page');
    const { body } = await e.api.request<{ items: Configuration[] }>('GET', '/api/v1/archive-configurations?limit=100');
    const saved = body.items.find((c) => c.name === name)!;
    expect(saved.items).toEqual({ cdr: { enabled: true, daysToKeep: 30 }, voicemails: { enabled: true, daysToKeep: 90 } });
    expect(saved.destinations.map((d) => d.type)).toEqual(['local']);

    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: `Edit "${name}"` }).waitFor();
    const days = page.getByLabel('Days to keep (Voicemails)');
    await days.fill('14');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name, exact: true }).waitFor();
    await expect(page.getByTestId('configuration-settings').textContent()).resolves.toContain('Voicemails: older than 14 days');
    expect((await e.api.request<Configuration>('GET', `/api/v1/archive-configurations/${saved.id}`)).body.items?.voicemails).toEqual({ enabled: true, daysToKeep: 14 });

    await open('/archiving');
    const row = page.getByTestId('configuration-row').filter({ hasText: name });
    await expect(row.textContent()).resolves.toContain('Server hard drive');
    await shot('en-archiving-list');

    await open(`/archiving/${saved.id}`, 'de');
    await page.getByRole('heading', { name: 'Einstellungen' }).waitFor();
    await noSeriousA11yViolations('archiving configuration page (de)');
    await shot('de-archiving-configuration-page');
    await open('/archiving/new', 'de');
    await page.getByRole('heading', { name: 'Neue Archivierungs-Konfiguration' }).waitFor();
    await page.getByRole('combobox', { name: 'Archivierungsintervall' }).waitFor();
    await noSeriousA11yViolations('archiving form (de)');
    await shot('de-archiving-new');
    await open('/archiving', 'de');
    await page.getByRole('heading', { name: 'Archivierungs-Konfigurationen' }).waitFor();
    await shot('de-archiving-list');
  }, 120_000);

  it('keyboard: the new inputs are reached by their label with Tab alone', async () => {
    const c = await createBackup(uniqueName('UI keys'));
    await open('/backups');
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
    await tabTo(page.getByLabel('Filter by name'));
    await open('/archiving/new');
    await page.getByRole('heading', { name: 'New archiving configuration' }).waitFor();
    for (const input of [
      page.getByRole('textbox', { name: 'Name', exact: true }),
      page.getByLabel('Report to'),
      page.getByLabel('CDR (call records)', { exact: true }),
      page.getByLabel('Days to keep (CDR (call records))'),
      page.getByLabel('Voicemails', { exact: true }),
    ]) {
      await tabTo(input);
    }
    await page.keyboard.press('Space');
    await tabTo(page.getByLabel('Days to keep (Voicemails)'));
    await open(`/backups/${c.id}`);
    await tabTo(page.getByRole('button', { name: 'Add destination' }));
    await page.keyboard.press('Enter');
    await tabTo(page.getByRole('radio', { name: 'Server hard drive' }));
    await page.keyboard.press('Space');
    await tabTo(page.getByLabel('Sub-folder (optional)'));
    await page.keyboard.type('second');
    await tabTo(page.getByRole('dialog').getByRole('button', { name: 'Add destination' }));
    await page.keyboard.press('Enter');
    await page.getByText('The destination was added.').waitFor();
    await expect(page.getByTestId('destination-row').count()).resolves.toBe(2);
  }, 60_000);
});

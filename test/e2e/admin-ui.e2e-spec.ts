/**
 * The admin web UI (apps/admin) in a real browser against the five built apps: served by the
 * api on its own origin, sign-in, the four-step wizard with each step-4 option, SFTP host-key
 * confirmation against the test sshd, an API validation error beside its field, run progress
 * and a Download whose bytes are the run's, German, keyboard-only completion, and axe-core
 * (no serious or critical violations) on every page. Screenshots of each step in both
 * languages go to tmp/admin-ui/. Needs `npm run build` and /usr/bin/chromium.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expectEventually, peers, repoRoot, sftpHostKeyFingerprint, testUrls, uniqueName } from '@pbx/testing';
import { adminSuite, fillSftpConfirmingHostKey, setLanguage, tabUntilFocused } from './admin-browser';
import { type E2eEnv } from './e2e-env';

interface Run { id: string; status: string; artifact: { fileName: string; sha256: string } | null }
interface Page_<T> { items: T[] }

describe('admin web UI in a browser (five processes)', () => {
  let e: E2eEnv;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const { shot, noSeriousA11yViolations } = adminSuite({
    name: 'ui',
    shots: 'admin-ui',
    seed: { users: 5, cdr: 50, voicemails: 1, announcements: 1, minAudioBytes: 2_000, maxAudioBytes: 4_000 },
    acceptDownloads: true,
    // The tests sign in themselves (the sign-in page is one of them).
    signIn: false,
    ready: (s) => ({ e, context, page, base } = s),
  });

  async function signIn(token = e.admin): Promise<void> {
    await page.goto(`${base}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
  }

  /** The list page, signed in (the token stays in this tab's sessionStorage). */
  async function home(): Promise<void> {
    // English unless a test switches (the choice is remembered in localStorage).
    await setLanguage(page, 'en');
    await page.goto(`${base}/backups`);
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
  }

  /** Step 1 and 2 as a user fills them; the wizard is open. */
  async function fillGeneralAndData(name: string, prefix = 'en'): Promise<void> {
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
    await page.getByLabel('Report to').fill('ui-e2e@example.com');
    if (prefix) await shot(`${prefix}-step1-general`);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('CDR and voicemails').check();
    if (prefix) await shot(`${prefix}-step2-data`);
    await page.getByRole('button', { name: 'Next' }).click();
  }

  async function runOf(name: string): Promise<Run> {
    return expectEventually(async () => {
      const { body } = await e.api.request<Page_<Run & { configurationName: string }>>('GET', '/api/v1/runs?limit=50');
      const run = body.items.find((r) => r.configurationName === name);
      return run && ['succeeded', 'partially_failed', 'failed'].includes(run.status) ? run : null;
    }, { timeoutMs: 90_000, intervalMs: 500, message: `no final run of ${name}` });
  }

  it('is served by the api on its own origin: UI routes get index.html under the CSP, /api/* stays problem+json', async () => {
    const index = await fetch(`${base}/backups`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await index.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script
    for (const path of ['/api/v1/nope', '/API/v1/nope', '/%61pi/v1/runs', '//api/v1/runs', '/api/v1/runs/x/y/z']) {
      const res = await fetch(`${base}${path}`);
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({ path, status: 404, type: expect.stringMatching(/application\/problem\+json/) });
    }
    expect((await fetch(`${base}/api/v1/runs`)).status).toBe(401);
  });

  it('first load (the sign-in page, fresh profile): at most 250 KB of gzipped JavaScript', async () => {
    const scripts = new Map<string, number>();
    const fresh = await context.newPage();
    fresh.on('response', (res) => {
      if (res.request().resourceType() === 'script') void res.body().then((b) => scripts.set(res.url(), gzipSync(b).length), () => undefined);
    });
    await fresh.goto(`${base}/`, { waitUntil: 'networkidle' });
    await fresh.getByLabel('API token').waitFor();
    await expectEventually(() => scripts.size > 0);
    const total = [...scripts.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(`admin first load: ${scripts.size} script(s), ${(total / 1024).toFixed(1)} KiB gzipped\n`);
    expect(total).toBeLessThanOrEqual(250 * 1024);
    await fresh.close();
  });

  it('sign-in: a wrong token is refused; the right one shows its name, role, time zone and the sections its role may use; the token is in sessionStorage only', async () => {
    await page.goto(`${base}/`);
    await noSeriousA11yViolations('sign-in');
    await shot('en-sign-in');
    await page.getByText('DE', { exact: true }).click();
    await page.getByLabel('API-Token').waitFor();
    await noSeriousA11yViolations('sign-in (de)');
    await shot('de-sign-in');
    await page.getByText('EN', { exact: true }).click();
    await page.getByLabel('API token').fill('not-a-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token was not accepted.').first().waitFor();
    await signIn();
    await expect(page.getByTestId('token-name').textContent()).resolves.toBe('admin');
    await expect(page.getByTestId('pbx-timezone').textContent()).resolves.toBe('Europe/Berlin');
    for (const section of ['Backups', 'Runs', 'Restore', 'Archiving', 'Dead letters', 'Audit']) await page.getByRole('link', { name: section }).waitFor();
    const stored = await page.evaluate(() => {
      const g = globalThis as unknown as { sessionStorage: { getItem(k: string): string | null }; localStorage: { length: number; key(i: number): string | null; getItem(k: string): string | null } };
      const local = Array.from({ length: g.localStorage.length }, (_, i) => g.localStorage.getItem(g.localStorage.key(i) ?? '') ?? '');
      return { session: g.sessionStorage.getItem('pbx-admin-token'), local };
    });
    expect(stored.session).toBe(e.admin);
    expect(stored.local.join()).not.toContain(e.admin);
    await noSeriousA11yViolations('backups (empty)');
  });

  it('wizard, local destination, "Keep settings and execute backup": progress, then Download gives the run\'s bytes', async () => {
    await home();
    const name = uniqueName('UI local');
    await page.getByRole('link', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'New backup configuration' }).waitFor();
    await noSeriousA11yViolations('wizard step 1');
    // Next validates the step: the errors stand beside their fields.
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByRole('textbox', { name: 'Name', exact: true }).getAttribute('aria-invalid')).resolves.toBe('true');
    await fillGeneralAndData(name);
    await noSeriousA11yViolations('wizard step 3');
    await page.getByRole('radio', { name: 'Server hard drive' }).click();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection works.').waitFor();
    await shot('en-step3-destination-local');
    await page.getByRole('button', { name: 'Next' }).click();
    const summary = page.getByTestId('wizard-summary');
    await expect(summary.textContent()).resolves.toContain(name);
    await expect(summary.textContent()).resolves.toContain('Encryption');
    await expect(page.getByRole('radio', { name: 'Keep settings and execute backup' }).isChecked()).resolves.toBe(true);
    await noSeriousA11yViolations('wizard step 4');
    await shot('en-step4-summary');
    await page.getByRole('button', { name: 'Save and run backup' }).click();
    await page.getByTestId('run-progress').waitFor();
    const download = page.getByRole('button', { name: 'Download' });
    await download.waitFor({ timeout: 90_000 });
    await shot('en-run-progress');
    await noSeriousA11yViolations('run progress');
    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    const bytes = readFileSync((await file.path())!);
    const run = await runOf(name);
    expect(run.status).toBe('succeeded');
    expect(file.suggestedFilename()).toBe(run.artifact!.fileName);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(run.artifact!.sha256);
    // The list shows it: interval, last result as icon and word, the destination as a chip.
    await page.getByRole('link', { name: 'Back to the list' }).click();
    const row = page.getByTestId('configuration-row').filter({ hasText: name });
    await row.getByText('succeeded').waitFor();
    await expect(row.textContent()).resolves.toContain('Server hard drive');
    await noSeriousA11yViolations('backups list');
    await shot('en-backups-list');
  }, 150_000);

  it('wizard, SFTP: "Test connection" shows the host key; confirmed, it is saved with it ("Only keep settings")', async () => {
    await home();
    const name = uniqueName('UI sftp');
    await page.getByRole('link', { name: 'New schedule' }).click();
    await fillGeneralAndData(name, '');
    // Next without a confirmed key: the wizard asks for it.
    await fillSftpConfirmingHostKey(page, join(peers.sftp.homeDir, 'ui-e2e'), 'Next');
    await shot('en-step3-destination-sftp');
    await noSeriousA11yViolations('wizard step 3 (SFTP)');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByTestId('wizard-summary').textContent()).resolves.toContain('••••');
    await expect(page.getByTestId('wizard-summary').textContent()).resolves.not.toContain(peers.sftp.password);
    await page.getByRole('radio', { name: 'Only keep settings' }).check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
    const { body } = await e.api.request<Page_<{ name: string; interval: string; destinations: Array<Record<string, unknown>> }>>('GET', '/api/v1/backup-configurations?limit=100');
    const saved = body.items.find((c) => c.name === name)!;
    expect(saved.interval).toBe('daily');
    expect(saved.destinations[0]).toMatchObject({ type: 'sftp', hostKeyFingerprint: sftpHostKeyFingerprint(), hasPassword: true });
    const row = page.getByTestId('configuration-row').filter({ hasText: name });
    await expect(row.textContent()).resolves.toMatch(/\(Europe\/Berlin\)/);
  }, 120_000);

  it('wizard, S3: a refused endpoint stands beside its field; corrected, Test connection works against s3rver and it is saved ("Only keep settings"), the secret key write-only', async () => {
    await home();
    const name = uniqueName('UI s3');
    const prefix = `ui-e2e-${Date.now()}`;
    await page.getByRole('link', { name: 'Create', exact: true }).click();
    await fillGeneralAndData(name, '');
    await page.getByRole('radio', { name: 'S3 object storage' }).click();
    const endpoint = page.getByLabel('Endpoint URL');
    // Not an http(s) URL: the browser sends it, the api refuses it, the wizard shows why beside the field.
    await endpoint.fill(`ftp://${peers.host}:${peers.s3.port}`);
    await page.getByRole('textbox', { name: 'Region', exact: true }).fill(peers.s3.region);
    await page.getByRole('textbox', { name: 'Bucket', exact: true }).fill(peers.s3.bucket);
    await page.getByLabel('Prefix (folder in the bucket)').fill(prefix);
    await page.getByLabel('Access key ID').fill(peers.s3.accessKeyId);
    const secretKey = page.getByLabel('Secret access key');
    await expect(secretKey.getAttribute('type')).resolves.toBe('password');
    await secretKey.fill(peers.s3.secretAccessKey);
    await page.getByLabel('Path-style URLs (MinIO and most self-hosted servers)').check();
    await page.getByRole('combobox', { name: 'Storage class (optional)' }).click();
    await page.getByRole('option', { name: 'STANDARD', exact: true }).click();
    await page.getByLabel('Object Lock (days, optional)').fill('0');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: 'Only keep settings' }).check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // Both refusals stand beside their fields: the endpoint's scheme, and 0 days of Object Lock.
    const errorOf = async (field: Locator) => {
      await expectEventually(async () => (await field.getAttribute('aria-invalid')) === 'true', { timeoutMs: 10_000, message: `${field.toString()} was not marked invalid` });
      const described = await field.getAttribute('aria-describedby');
      return page.locator(`[id="${described?.split(' ').find((id) => id.includes('error'))}"]`).textContent();
    };
    await expect(errorOf(endpoint)).resolves.toMatch(/https:\/\/ or http:\/\//);
    const lockDays = page.getByLabel('Object Lock (days, optional)');
    await expect(errorOf(lockDays)).resolves.toBeTruthy();
    await noSeriousA11yViolations('wizard step 3 (S3, refused)');
    await shot('en-step3-destination-s3-refused');
    // s3rver's bucket has no Object Lock: leave it empty.
    await lockDays.fill('');
    await endpoint.fill(peers.s3.endpoint);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText('Connection works.').waitFor({ timeout: 30_000 });
    await noSeriousA11yViolations('wizard step 3 (S3)');
    await shot('en-step3-destination-s3');
    await page.getByRole('button', { name: 'Next' }).click();
    const summary = page.getByTestId('wizard-summary');
    await expect(summary.textContent()).resolves.toContain('Secret access key••••');
    // The earlier refusal is not shown again once the steps were walked anew.
    expect(await page.getByText(/Something went wrong/).count()).toBe(0);
    await shot('en-step4-summary-s3');
    await page.getByRole('radio', { name: 'Only keep settings' }).check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
    const { body } = await e.api.request<Page_<{ id: string; name: string; destinations: Array<Record<string, unknown>> }>>('GET', '/api/v1/backup-configurations?limit=100');
    const saved = body.items.find((c) => c.name === name)!;
    expect(saved.destinations[0]).toMatchObject({ type: 's3', endpoint: peers.s3.endpoint, region: peers.s3.region, bucket: peers.s3.bucket, prefix, accessKeyId: peers.s3.accessKeyId, forcePathStyle: true, storageClass: 'STANDARD', hasSecretAccessKey: true });
    expect(saved.destinations[0]!.secretAccessKey).not.toBe(peers.s3.secretAccessKey);
    await expect(page.getByTestId('configuration-row').filter({ hasText: name }).textContent()).resolves.toContain('S3 object storage');
    // Its page names where it writes, without the key.
    await page.goto(`${base}/backups/${saved.id}`);
    await expect(page.getByTestId('destination-row').textContent()).resolves.toContain(`${peers.s3.endpoint}/${peers.s3.bucket}/${prefix}`);
  }, 120_000);

  it('"Only execute backup": an API validation error lands beside its field; corrected, the run goes and the configuration is not kept', async () => {
    await home();
    const name = uniqueName('UI run only');
    await page.getByRole('link', { name: 'Create', exact: true }).click();
    await fillGeneralAndData(name, '');
    await page.getByRole('radio', { name: 'Server hard drive' }).click();
    const folder = page.getByLabel('Sub-folder (optional)');
    await folder.fill('ok/../escape');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: 'Only execute backup' }).check();
    await page.getByRole('button', { name: 'Run backup' }).click();
    // The api's errors[].field is destinations[0].path: the wizard goes back to step 3 and shows it there.
    await expect(folder.getAttribute('aria-invalid')).resolves.toBe('true');
    const described = await folder.getAttribute('aria-describedby');
    const message = await page.locator(`[id="${described?.split(' ').find((id) => id.includes('error'))}"]`).textContent();
    expect(message).toBeTruthy();
    await shot('en-step3-api-error');
    await folder.fill('run-only');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Run backup' }).click();
    await page.getByTestId('run-progress').getByText('succeeded').first().waitFor({ timeout: 90_000 });
    const run = await runOf(name);
    expect(run.status).toBe('succeeded');
    const { body } = await e.api.request<Page_<{ name: string }>>('GET', '/api/v1/backup-configurations?limit=100');
    expect(body.items.map((c) => c.name)).not.toContain(name);
  }, 120_000);

  it('German: every step in German, with the STARFACE labels', async () => {
    await home();
    await page.getByRole('link', { name: 'Backups', exact: true }).click();
    await page.getByText('DE', { exact: true }).click();
    await page.getByRole('heading', { name: 'Backup-Konfigurationen' }).waitFor();
    await shot('de-backups-list');
    await noSeriousA11yViolations('backups list (de)');
    await page.getByRole('link', { name: 'Erstellen', exact: true }).click();
    await page.getByLabel('Bericht an').waitFor();
    await page.getByRole('combobox', { name: 'Backup-Intervall' }).waitFor();
    await page.getByLabel('Uhrzeit').waitFor();
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(uniqueName('UI de'));
    await page.getByLabel('Bericht an').fill('de@example.com');
    await shot('de-step1-general');
    await page.getByRole('button', { name: 'Weiter' }).click();
    for (const label of ['Stammdaten', 'CDR und Voicemails', 'Ansagetexte']) await page.getByLabel(label).waitFor();
    await shot('de-step2-data');
    await page.getByRole('button', { name: 'Weiter' }).click();
    for (const label of ['Server-Festplatte', 'Windows-Freigabe', 'SFTP', 'Dropbox', 'USB-Speicher', 'An E-Mail-Adresse senden']) await page.getByRole('radio', { name: label }).waitFor();
    await page.getByRole('radio', { name: 'Windows-Freigabe' }).click();
    for (const label of ['Benutzer', 'Passwort', 'Server', 'Freigabe']) await page.getByLabel(label).first().waitFor();
    await page.getByRole('combobox', { name: 'Sicherheit' }).waitFor();
    await shot('de-step3-destination-smb');
    await noSeriousA11yViolations('wizard step 3 (de, SMB)');
    await page.getByRole('radio', { name: 'S3-Objektspeicher' }).click();
    for (const label of ['Endpunkt-URL', 'Region', 'Bucket', 'Präfix (Ordner im Bucket)', 'Zugriffsschlüssel-ID', 'Geheimer Zugriffsschlüssel', 'Object Lock (Tage, optional)']) await page.getByLabel(label).first().waitFor();
    await page.getByRole('combobox', { name: 'Speicherklasse (optional)' }).waitFor();
    await page.getByRole('button', { name: 'Verbindung testen' }).waitFor();
    await shot('de-step3-destination-s3');
    await noSeriousA11yViolations('wizard step 3 (de, S3)');
    await page.getByRole('radio', { name: 'USB-Speicher' }).click();
    await page.getByRole('button', { name: 'Weiter' }).click();
    for (const label of ['Einstellungen speichern und Backup ausführen', 'Nur Backup ausführen', 'Nur Einstellungen speichern']) await page.getByRole('radio', { name: label }).waitFor();
    await page.getByRole('button', { name: 'Speichern und Backup ausführen' }).waitFor();
    await shot('de-step4-summary');
    await noSeriousA11yViolations('wizard step 4 (de)');
    await page.getByRole('link', { name: 'Backups', exact: true }).click();
    await page.getByText('EN', { exact: true }).click();
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
  }, 60_000);

  /** Presses Tab until `target` has the focus (keyboard only, as a user would). */
  const tabTo = (target: Locator, max?: number) => tabUntilFocused(page, target, max);

  it('keyboard only: the whole wizard, then delete with its dialog (Esc closes it; the name must be typed)', async () => {
    await home();
    const name = uniqueName('UI keyboard');
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
    await tabTo(page.getByRole('link', { name: 'Create', exact: true }));
    await page.keyboard.press('Enter');
    await tabTo(page.getByRole('textbox', { name: 'Name', exact: true }));
    await page.keyboard.type(name);
    await page.keyboard.press('Tab');
    await page.keyboard.type('keys@example.com');
    await page.keyboard.press('Enter'); // submits the step: Next
    await page.getByLabel('Core data').waitFor();
    await tabTo(page.getByLabel('Voicemail announcements'));
    await page.keyboard.press('Space');
    await tabTo(page.getByRole('button', { name: 'Next' }));
    await page.keyboard.press('Enter');
    await tabTo(page.getByRole('radio', { name: 'USB storage' }));
    await page.keyboard.press('Space');
    await tabTo(page.getByRole('button', { name: 'Next' }));
    await page.keyboard.press('Enter');
    await tabTo(page.getByRole('radio', { name: 'Keep settings and execute backup' }));
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect(page.getByRole('radio', { name: 'Only keep settings' }).isChecked()).resolves.toBe(true);
    await tabTo(page.getByRole('button', { name: 'Save', exact: true }));
    await page.keyboard.press('Enter');
    const row = page.getByTestId('configuration-row').filter({ hasText: name });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('USB storage');

    await tabTo(row.getByRole('button', { name: 'Delete' }), 80);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await noSeriousA11yViolations('delete dialog');
    await shot('en-delete-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await tabTo(row.getByRole('button', { name: 'Delete' }), 80);
    await page.keyboard.press('Enter');
    await page.getByLabel('Type the name to confirm').waitFor();
    await expect(dialog.getByRole('button', { name: 'Delete configuration' }).isDisabled()).resolves.toBe(true);
    await tabTo(page.getByLabel('Type the name to confirm'));
    await page.keyboard.type(name);
    await page.keyboard.press('Enter');
    await page.getByText(`"${name}" was deleted.`).waitFor();
    await row.waitFor({ state: 'detached' });
  }, 90_000);

  it('a viewer sees the list but no Create, Edit, Delete, Dead letters or Audit', async () => {
    const res = spawnSync(process.execPath, ['dist/scripts/ops.js', 'tokens', 'create', uniqueName('ui-viewer'), '--role', 'viewer'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', USER: 'e2e', DATABASE_URL: testUrls.database, DATABASE_SCHEMA: e.schema, LOG_LEVEL: 'warn' },
    });
    const token = /^(pbx_\S+)$/m.exec(res.stdout)?.[1];
    expect(token).toBeTruthy();
    await home();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(token!);
    await expect(page.getByTestId('token-role').textContent()).resolves.toBe('viewer');
    await page.getByTestId('configuration-row').first().waitFor();
    for (const hidden of [page.getByRole('link', { name: 'Create', exact: true }), page.getByRole('button', { name: 'Edit' }), page.getByRole('button', { name: 'Delete' }), page.getByRole('link', { name: 'Dead letters' }), page.getByRole('link', { name: 'Audit' })]) {
      await expect(hidden.count()).resolves.toBe(0);
    }
    await noSeriousA11yViolations('backups list (viewer)');
  }, 60_000);
});
